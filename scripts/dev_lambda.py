"""The Lambda service for `make dev`: each function runs in containers of its own (processes), each
container answers one invocation at a time, and more containers start as requests overlap, up to a
limit, the way Lambda scales out. A container imports the handler once (its cold start) and keeps its
module state (clients, circuit breakers, the cached LLM key) between invocations, as in Lambda.

Containers reach AWS through the environment they are given (moto's endpoint, locally).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

# API Gateway gives up on an integration after 29 seconds and answers 504.
GATEWAY_TIMEOUT_SECONDS = 29


@dataclass(frozen=True)
class Function:
    name: str
    handler: str  # module.function
    timeout_seconds: int
    memory_mb: int = 1024


class InvocationFailed(Exception):
    """The handler raised: Lambda reports a function error (API Gateway answers 502)."""


class _Context:
    """The parts of the Lambda context the handlers read, with a real deadline."""

    def __init__(self, function: Function) -> None:
        self.function_name = function.name
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


_loaded: dict[str, Any] = {}


def _cold_start(environment: dict[str, str], handler: str) -> None:
    os.environ.update(environment)
    module, _, name = handler.rpartition(".")
    _loaded["handler"] = getattr(importlib.import_module(module), name)


def _invoke(function: Function, event: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = _loaded["handler"](event, _Context(function))
    except Exception as error:  # what Lambda would report as the function's error
        raise InvocationFailed(f"{type(error).__name__} in {function.name}") from None
    return result


class LambdaService:
    def __init__(self, environment: dict[str, str], *, max_containers: int) -> None:
        self._environment = environment
        self._max_containers = max_containers
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._lock = threading.Lock()

    def invoke(self, function: Function, event: dict[str, Any]) -> Future[dict[str, Any]]:
        """Run the event in a free container of the function (starting one if none is free). A
        container that died (as Lambda replaces a crashed one) takes its pool with it: the next
        invocation gets fresh containers."""
        pool = self._pool(function)
        try:
            return pool.submit(_invoke, function, event)
        except BrokenProcessPool:
            return self._replace(function, pool).submit(_invoke, function, event)

    def _pool(self, function: Function) -> ProcessPoolExecutor:
        with self._lock:
            return self._pools.get(function.name) or self._start(function)

    def _replace(self, function: Function, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._pools.get(function.name) is broken:  # not yet replaced by another request
                broken.shutdown(wait=False, cancel_futures=True)
                del self._pools[function.name]
            return self._pools.get(function.name) or self._start(function)

    def _start(self, function: Function) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self._max_containers,
            # A fresh interpreter per container, as Lambda's; never a fork of this threaded server.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_cold_start,
            initargs=(self._environment, function.handler),
        )
        self._pools[function.name] = pool
        return pool

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
