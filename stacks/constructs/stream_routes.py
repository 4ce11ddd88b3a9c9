"""POST /chat/stream and POST /web/chat/stream: the same validation and credentials as POST /chat, with an
integration that streams (ResponseTransferMode STREAM: API Gateway calls the function through
InvokeWithResponseStream and passes each chunk on as it comes) and a timeout past the 29 s of a
buffered one (up to 15 minutes)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_

from stacks.constructs import chat_api_answers as answers
from stacks.constructs.chat_api import ANY_CONTENT_TYPE, ChatApi


def add_stream_routes(
    api: ChatApi, *, handler: lambda_.IFunction, timeout_seconds: int
) -> list[apigw.Method]:
    integration = apigw.LambdaIntegration(
        handler,
        response_transfer_mode=apigw.ResponseTransferMode.STREAM,
        timeout=cdk.Duration.seconds(timeout_seconds),
    )
    keyed = api.chat_resource.add_resource("stream").add_method(
        "POST",
        integration,
        api_key_required=True,
        request_validator=api.validator,
        request_models={ANY_CONTENT_TYPE: api.chat_model},
    )
    answers.acknowledge_api_key_auth(keyed, "POST /chat/stream", "POST /web/chat/stream")
    methods = [keyed]
    if api.authorizer is not None and api.web_chat_resource is not None:
        methods.append(
            api.web_chat_resource.add_resource("stream").add_method(
                "POST",
                integration,
                authorizer=api.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                request_validator=api.validator,
                request_models={ANY_CONTENT_TYPE: api.chat_model},
            )
        )
        api.web_methods.append(methods[-1])
    return methods
