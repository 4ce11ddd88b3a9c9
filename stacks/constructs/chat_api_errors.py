"""The chat API's gateway-level answers (bad body, no such route, other 4xx/5xx) as JSON that says what
was wrong, never an HTML page."""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigw

NO_ROUTE_MESSAGE = "No such route: check the method and the path"
BAD_REQUEST_BODY_TEMPLATE = (
    '{"message": $context.error.messageString, "details": "The body must be a JSON object with only '
    "sessionId (8-128 letters, digits, _ or -) and message (a non-empty string within the length "
    'limit)."}'
)


def add_json_error_responses(api: apigw.RestApi) -> None:
    """Answer gateway-level errors as JSON that says what was wrong, never an HTML page."""
    # Gateway response templates are plain substitution (no VTL), and the validator's detailed
    # error string quotes the rejected value: state the rules instead of echoing the input.
    api.add_gateway_response(
        "BadRequestBody",
        type=apigw.ResponseType.BAD_REQUEST_BODY,
        status_code="400",
        templates={"application/json": BAD_REQUEST_BODY_TEMPLATE},
    )
    # No IAM authorization here, so this answer only ever means: no such method on this path.
    api.add_gateway_response(
        "NoSuchRoute",
        type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        status_code="404",
        templates={"application/json": json.dumps({"message": NO_ROUTE_MESSAGE})},
    )
    for name, response_type in (
        ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
        ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
    ):
        api.add_gateway_response(
            name,
            type=response_type,
            templates={"application/json": '{"message": $context.error.messageString}'},
        )
