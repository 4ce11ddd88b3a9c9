"""The dev stage in one process, for scripts/dev_server.py: its config, its Lambdas' environment (the
one the stack gives them, pointed at moto and the local LLM), its AWS resources, its containers and
its jobs poller."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from scripts import fake_sign_in as fake_cognito
from scripts.dev_aws import REGION, LocalStage, provision
from scripts.dev_gateway import Gateway
from scripts.dev_jobs import QueuePoller
from scripts.dev_lambda import Function, LambdaService
from scripts.dev_stream import StreamContainer
from stacks.config import STAGES
from stacks.config_guardrail import GuardrailConfig
from stacks.constructs.chat_function import build_id
from stacks.constructs.job_queue import VISIBILITY_FACTOR
from stacks.constructs.response_headers import CONTENT_SECURITY_POLICY
from stacks.page_build import build_site
from stacks.runtime_environment import chat_environment, stream_environment

CONFIG = STAGES["dev"]
CHAT_HANDLER = "lambda_src.handlers.chat.handler"
WORKER_HANDLER = "lambda_src.handlers.worker.handler"
# As CloudFront's response headers policy sends them (stacks/constructs/response_headers.py).
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@dataclass(frozen=True)
class DevStage:
    gateway: Gateway
    lambdas: LambdaService
    chat: Function
    stream: StreamContainer
    site: Path
    fake_sign_in: bool
    security_headers: dict[str, str]
    max_message_chars: int


def lambda_environment(
    aws: LocalStage, *, llm_url: str, llm_model: str, session_requests: int, daily_tokens: int
) -> dict[str, str]:
    """The dev stage's Lambda environment, with the local LLM, the local tier and moto."""
    environment = chat_environment(
        CONFIG, table_name=aws.table_name, secret_arn=aws.secret_arn, build_id=build_id()
    )
    environment.update(
        {
            "STAGE": "local",
            "LLM_PROVIDERS": json.dumps(
                [
                    {
                        "name": "local",
                        "kind": "openai",
                        "model": llm_model,
                        "base_url": llm_url,
                        "timeout_seconds": CONFIG.llm.timeout_seconds,
                    }
                ]
            ),
            "QUOTA_TIERS": json.dumps(
                [{"name": "dev", "daily_tokens": daily_tokens, "session_requests": session_requests}]
            ),
            "DEFAULT_TIER": "dev",
            # The stage's guardrail policy, applied by the offline stand-in (guardrail_local.py).
            **guardrail_environment(CONFIG.guardrail),
            # No CloudWatch or X-Ray locally: metrics would only print EMF lines between the logs.
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **aws.environment(),
        }
    )
    return environment


def guardrail_environment(config: GuardrailConfig) -> dict[str, str]:
    if not config.enabled:
        return {}
    return {"GUARDRAIL_LOCAL_POLICY": json.dumps(config.local_policy()), **config.runtime_environment()}


def start_stage(
    *,
    api_key: str,
    llm_url: str | None,
    llm_model: str,
    session_requests: int,
    daily_tokens: int,
    fake_sign_in: bool,
    site: Path,
) -> tuple[DevStage, QueuePoller, str]:
    jobs = CONFIG.jobs
    aws = provision(
        llm_key=os.environ.get("DEV_LLM_API_KEY", "dev-llm-key"),
        max_receive_count=jobs.max_receive_count,
        visibility_timeout_seconds=jobs.worker_timeout_seconds * VISIBILITY_FACTOR,
    )
    if llm_url is None:
        from scripts.fake_llm_server import FakeLlm

        llm_url = FakeLlm().start().base_url
    environment = lambda_environment(
        aws,
        llm_url=llm_url,
        llm_model=llm_model,
        session_requests=session_requests,
        daily_tokens=daily_tokens,
    )
    lambdas = LambdaService(environment, max_containers=CONFIG.reserved_concurrency or 5)
    poller = QueuePoller(
        lambdas,
        Function("worker-dev", WORKER_HANDLER, jobs.worker_timeout_seconds, CONFIG.lambda_memory_mb),
        queue_url=aws.queue_url,
        queue_arn=aws.queue_arn,
        region=REGION,
        batch_size=jobs.batch_size,
        concurrency=max(2, jobs.worker_concurrency),
    )
    poller.start()
    build_site(out=site)
    # The stream's timing as the stage has it; the Web Adapter's own variables have no use here.
    timing = {k: v for k, v in stream_environment(CONFIG).items() if k.startswith("STREAM_")}
    stream = StreamContainer(
        {**environment, **timing}, timeout_seconds=CONFIG.stream.function_timeout_seconds
    )
    stage = DevStage(
        gateway=Gateway(
            api_key=api_key,
            max_body_bytes=CONFIG.edge.max_chat_body_bytes,
            claims_of=fake_cognito.claims if fake_sign_in else lambda _: {},
        ),
        lambdas=lambdas,
        chat=Function("chat-dev", CHAT_HANDLER, CONFIG.lambda_timeout_seconds, CONFIG.lambda_memory_mb),
        stream=stream,
        site=site,
        fake_sign_in=fake_sign_in,
        security_headers=SECURITY_HEADERS,
        max_message_chars=CONFIG.max_message_chars,
    )
    return stage, poller, llm_url
