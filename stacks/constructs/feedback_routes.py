"""POST /conversations/{sessionId}/messages/{messageId}/feedback and its /web/ twin: thumbs up or down on a
reply (lambda_src/chat/feedback.py), validated by API Gateway first against the same rules."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw

from lambda_src.chat.feedback import CATEGORIES, MAX_COMMENT_CHARS
from stacks.constructs import chat_api_answers as answers
from stacks.constructs.chat_api import ANY_CONTENT_TYPE, ChatApi

PATH_PARAMETERS = {"method.request.path.sessionId": True, "method.request.path.messageId": True}


def feedback_schema() -> apigw.JsonSchema:
    string = apigw.JsonSchemaType.STRING
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title="FeedbackRequest",
        type=apigw.JsonSchemaType.OBJECT,
        required=["rating"],
        additional_properties=False,
        properties={
            "rating": apigw.JsonSchema(type=string, enum=["up", "down"]),
            "category": apigw.JsonSchema(type=string, enum=list(CATEGORIES)),
            # Twice the limit, as for messages: the gateway may count UTF-16 units; the handler counts
            # code points of what it stores.
            "comment": apigw.JsonSchema(type=string, max_length=2 * MAX_COMMENT_CHARS),
        },
    )


def add_feedback_routes(api: ChatApi) -> list[apigw.Method]:
    model = api.api.add_model(
        "FeedbackRequestModel", content_type="application/json", schema=feedback_schema()
    )
    keyed = (
        api.session_resource.add_resource("messages")
        .add_resource("{messageId}")
        .add_resource("feedback")
        .add_method(
            "POST",
            api.integration,
            api_key_required=True,
            request_validator=api.validator,
            request_models={ANY_CONTENT_TYPE: model},
            request_parameters=PATH_PARAMETERS,
        )
    )
    route = "/conversations/{sessionId}/messages/{messageId}/feedback"
    answers.acknowledge_api_key_auth(keyed, f"POST {route}", f"POST /web{route}")
    methods = [keyed]
    if api.authorizer is not None and api.web_session_resource is not None:
        methods.append(
            api.web_session_resource.add_resource("messages")
            .add_resource("{messageId}")
            .add_resource("feedback")
            .add_method(
                "POST",
                api.integration,
                authorizer=api.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                request_validator=api.validator,
                request_models={ANY_CONTENT_TYPE: model},
                request_parameters=PATH_PARAMETERS,
            )
        )
        api.web_methods.append(methods[-1])
    return methods
