"""The dev server's Lambda service: containers answer with a deadline, a handler's error is a function
error, and a container that dies is replaced instead of breaking every later invocation."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from scripts.dev_lambda import Function, InvocationFailed, LambdaService

FUNCTION = Function("test", "tests.local.lambda_handlers.handler", timeout_seconds=10)


@pytest.fixture
def lambdas() -> Iterator[LambdaService]:
    service = LambdaService({}, max_containers=2)
    yield service
    service.shutdown()


def test_a_container_answers_with_the_functions_deadline(lambdas: LambdaService) -> None:
    answer = lambdas.invoke(FUNCTION, {}).result(timeout=60)
    assert 0 < answer["remaining_ms"] <= 10_000


def test_a_handlers_error_is_reported_as_a_function_error(lambdas: LambdaService) -> None:
    with pytest.raises(InvocationFailed, match="RuntimeError in test"):
        lambdas.invoke(FUNCTION, {"raise": True}).result(timeout=60)


def test_a_container_that_dies_is_replaced(lambdas: LambdaService) -> None:
    lambdas.invoke(FUNCTION, {}).result(timeout=60)
    with pytest.raises(BrokenProcessPool):
        lambdas.invoke(FUNCTION, {"crash": True}).result(timeout=60)
    assert lambdas.invoke(FUNCTION, {}).result(timeout=60)["remaining_ms"] > 0
