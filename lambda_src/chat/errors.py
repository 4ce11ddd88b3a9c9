"""Domain errors to HTTP answers for the Powertools resolver: what each answers is error_answers.py's.
Bodies hold a message and a request id, nothing else."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.error_answers import KNOWN_ERRORS, answer_for


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    def answer(status: int, message: str, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
        return Response(
            status_code=status,
            content_type=content_types.APPLICATION_JSON,
            body={"message": message, "requestId": app.lambda_context.aws_request_id},
            headers=headers,
        )

    @app.exception_handler(list(KNOWN_ERRORS))
    def known(error: Exception) -> Response[dict[str, Any]]:
        result = answer_for(error, degraded_reply=dependencies().settings.degraded_reply)
        return answer(result.status, result.message, result.headers or None)

    @app.not_found
    def not_found(_: NotFoundError) -> Response[dict[str, Any]]:
        return answer(404, "No such route")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[dict[str, Any]]:
        result = answer_for(error, degraded_reply="")
        return answer(result.status, result.message)
