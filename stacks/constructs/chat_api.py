"""The REST API: routes, request validation, logs and tracing; its usage plans and keys are api_keys.py's."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs import chat_api_answers as answers
from stacks.constructs.api_keys import add_keys_and_plans
from stacks.constructs.chat_api_errors import add_json_error_responses
from stacks.constructs.log_encryption import LogKey
from stacks.nag import acknowledge, skip_checkov

STAGE_NAME = "api"  # so that CloudFront can later route /api/* to the stage without a path rewrite
HEALTH_METHOD = "/health/GET"
DEEP_HEALTH_METHOD = "/health/deep/GET"
# API Gateway validates a body against the model of its Content-Type and skips validation when none
# matches; "$default" is the model for every content type, so text/plain cannot slip past the schema.
ANY_CONTENT_TYPE = "$default"
SESSION_ID_PATTERN = "^[A-Za-z0-9_-]{8,128}$"
# GET /conversations: both optional; the handler checks their values (limit 1-100, a cursor it issued).
SESSION_LIST_PARAMETERS = {
    "method.request.querystring.limit": False,
    "method.request.querystring.cursor": False,
}
CORS_ALLOW_HEADERS = ("Content-Type", "x-api-key", "Authorization", "Idempotency-Key")

# One JSON line per request; ids, status and timings only, never a body or a key value.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "apiKeyId": "$context.identity.apiKeyId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "errorMessage": "$context.error.message",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}


def chat_request_schema(max_message_chars: int) -> apigw.JsonSchema:
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title="ChatRequest",
        type=apigw.JsonSchemaType.OBJECT,
        required=["sessionId", "message"],
        additional_properties=False,
        properties={
            "sessionId": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern=SESSION_ID_PATTERN),
            # A first line only: the gateway may count UTF-16 units, in which an emoji is two, so it allows
            # twice the limit; the handler enforces the exact limit in code points on what it stores.
            "message": apigw.JsonSchema(
                type=apigw.JsonSchemaType.STRING, min_length=1, max_length=2 * max_message_chars
            ),
        },
    )


class ChatApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: lambda_.IFunction,
        log_key: LogKey,
        user_pool: cognito.IUserPool | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_logs = log_key.log_group(self, "AccessLogs")
        self.api = apigw.RestApi(
            self,
            "Api",
            # Unique per stage and account: the ApiName dimension of the API's metrics and alarms.
            rest_api_name=f"{cdk.Stack.of(self).stack_name}-api",
            description=f"Chatbot API ({config.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(config.cors_allowed_origins),
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                allow_headers=list(CORS_ALLOW_HEADERS),
                max_age=cdk.Duration.hours(1),
            )
            if config.cors_allowed_origins
            else None,
            # Execution logging needs the account-level CloudWatch role; retained so that deleting one
            # stage never breaks the logging of another stage in the same account and region.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=config.stage_throttle.rate_limit,
                throttling_burst_limit=config.stage_throttle.burst_limit,
                logging_level=config.api_execution_log_level,
                data_trace_enabled=False,  # would write request and response bodies to the logs
                metrics_enabled=True,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                # The one route without a credential gets a throttle of its own: however many addresses
                # call it, it cannot invoke the function faster than this.
                # The deep probe (a key required) gets the same: its answer is cached per container, and
                # this caps how many containers it can wake.
                method_options={
                    method: apigw.MethodDeploymentOptions(
                        throttling_rate_limit=config.health_throttle.rate_limit,
                        throttling_burst_limit=config.health_throttle.burst_limit,
                        logging_level=config.api_execution_log_level,
                        data_trace_enabled=False,
                        metrics_enabled=True,
                    )
                    for method in (HEALTH_METHOD, DEEP_HEALTH_METHOD)
                },
            ),
        )
        self.stage = self.api.deployment_stage
        answers.acknowledge_stage(self.stage)
        # API Gateway writes execution logs to this name; created here so it has a retention, the log key
        # and the stage's removal policy instead of living forever unencrypted.
        self.execution_logs = log_key.log_group(
            self, "ExecutionLogs", name=f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{STAGE_NAME}"
        )
        add_json_error_responses(self.api)
        answers.acknowledge_cloudwatch_role(self.api)

        self.validator = validator = self.api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        self.chat_model = chat_model = self.api.add_model(
            "ChatRequestModel",
            content_type="application/json",
            schema=chat_request_schema(config.max_message_chars),
        )
        self.integration = integration = apigw.LambdaIntegration(handler)

        self.chat_resource = chat = self.api.root.add_resource("chat")
        self.chat_method = chat.add_method(
            "POST",
            integration,
            api_key_required=True,
            request_validator=validator,
            request_models={ANY_CONTENT_TYPE: chat_model},
        )
        answers.acknowledge_api_key_auth(self.chat_method, "POST /chat", "POST /web/chat")

        jobs = chat.add_resource("jobs")
        self.job_methods = [
            jobs.add_method(
                "POST",
                integration,
                api_key_required=True,
                request_validator=validator,
                request_models={ANY_CONTENT_TYPE: chat_model},
            ),
            jobs.add_resource("{jobId}").add_method(
                "GET",
                integration,
                api_key_required=True,
                request_validator=validator,
                request_parameters={"method.request.path.jobId": True},
            ),
        ]
        for method in self.job_methods:
            answers.acknowledge_api_key_auth(method, f"{method.http_method} {method.resource.path}", None)

        conversations = self.api.root.add_resource("conversations")
        self.session_resource = session = conversations.add_resource("{sessionId}")
        self.conversation_methods = [
            conversations.add_method(
                "GET",
                integration,
                api_key_required=True,
                request_validator=validator,
                request_parameters=SESSION_LIST_PARAMETERS,
            ),
            *(
                session.add_method(
                    verb,
                    integration,
                    api_key_required=True,
                    request_validator=validator,
                    request_parameters={"method.request.path.sessionId": True},
                )
                for verb in ("GET", "DELETE")
            ),
        ]
        for method in self.conversation_methods:
            path = method.resource.path
            answers.acknowledge_api_key_auth(
                method, f"{method.http_method} {path}", f"{method.http_method} /web{path}"
            )

        self.web_methods: list[apigw.Method] = []
        self.authorizer: apigw.CognitoUserPoolsAuthorizer | None = None
        self.web_chat_resource: apigw.Resource | None = None
        self.web_session_resource: apigw.Resource | None = None
        if user_pool is not None:
            self._browser_routes(user_pool, integration, validator, chat_model)

        health = self.api.root.add_resource("health")
        self.health_method = health.add_method("GET", integration)
        open_probe = (
            "GET /health is the unauthenticated liveness probe for smoke tests and monitors; it returns "
            "only the deployed version, touches no data, and has its own method throttle (health_throttle) "
            "besides the edge's per-IP limit."
        )
        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            acknowledge(self.health_method, rule, open_probe)
        skip_checkov(self.health_method, "CKV_AWS_59", open_probe)
        self.deep_health_method = health.add_resource("deep").add_method(
            "GET", integration, api_key_required=True, request_validator=validator
        )
        answers.acknowledge_api_key_auth(self.deep_health_method, "GET /health/deep", None)

        answers.acknowledge_preflights(self.api)

        self.keys = add_keys_and_plans(self, self.api, self.stage, config)
        self.usage_plans = self.keys.usage_plans
        self.default_key = self.keys.default_key
        self.verification_key = self.keys.verification_key

    def _browser_routes(
        self,
        user_pool: cognito.IUserPool,
        integration: apigw.Integration,
        validator: apigw.IRequestValidator,
        chat_model: apigw.IModel,
    ) -> None:
        """/web/*: the same operations for people signed in to the chat page, by Cognito ID token.

        No API key here (a browser cannot keep one secret): the edge web ACL limits per IP, and the
        handler's token and session quotas apply per user.
        """
        self.authorizer = authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "PageUsers", cognito_user_pools=[user_pool], results_cache_ttl=cdk.Duration.minutes(5)
        )
        web = self.api.root.add_resource("web")
        self.web_chat_resource = web.add_resource("chat")
        self.web_methods.append(
            self.web_chat_resource.add_method(
                "POST",
                integration,
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                request_validator=validator,
                request_models={ANY_CONTENT_TYPE: chat_model},
            )
        )
        conversations = web.add_resource("conversations")
        self.web_methods.append(
            conversations.add_method(
                "GET",
                integration,
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                request_validator=validator,
                request_parameters=SESSION_LIST_PARAMETERS,
            )
        )
        self.web_session_resource = session = conversations.add_resource("{sessionId}")
        for verb in ("GET", "DELETE"):
            self.web_methods.append(
                session.add_method(
                    verb,
                    integration,
                    authorizer=authorizer,
                    authorization_type=apigw.AuthorizationType.COGNITO,
                    request_validator=validator,
                    request_parameters={"method.request.path.sessionId": True},
                )
            )
