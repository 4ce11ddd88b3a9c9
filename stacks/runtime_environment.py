"""The one mapping from stage config and resource names to the chat Lambda's environment.

The names match the fields of ``lambda_src.chat.settings.Settings``; a test keeps them in step.
Values are names, ARNs and limits only: the LLM key is read from Secrets Manager at run time.
"""

from __future__ import annotations

import json

from stacks.config import StageConfig

SERVICE_NAME = "chatbot"


def metrics_namespace(config: StageConfig) -> str:
    """One namespace per stage, so stages sharing an account never mix their figures."""
    return f"Chatbot/{config.name}"


def chat_environment(
    config: StageConfig,
    *,
    table_name: str,
    secret_arn: str | None,
    build_id: str,
    controls_parameter: str | None = None,
) -> dict[str, str]:
    llm = config.llm
    environment = {
        "STAGE": config.name,
        "BUILD_ID": build_id,
        "TABLE_NAME": table_name,
        "LLM_PROVIDERS": json.dumps(
            [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "model": p.model,
                    "base_url": p.base_url,
                    "timeout_seconds": p.timeout_seconds,
                }
                for p in llm.providers
            ]
        ),
        "LLM_MAX_OUTPUT_TOKENS": str(llm.max_output_tokens),
        "LLM_TIMEOUT_SECONDS": str(llm.timeout_seconds),
        "LLM_SYSTEM_PROMPT": llm.system_prompt,
        "LLM_MAX_ATTEMPTS": str(llm.max_attempts),
        "LLM_RETRY_BASE_DELAY_SECONDS": str(llm.retry_base_delay_seconds),
        "BREAKER_FAILURE_THRESHOLD": str(llm.breaker_failure_threshold),
        "BREAKER_COOLDOWN_SECONDS": str(llm.breaker_cooldown_seconds),
        "DEGRADED_REPLY": llm.degraded_reply,
        "CACHE_TTL_SECONDS": str(llm.cache_ttl_seconds),
        "CACHE_SHARED": "true" if llm.cache_shared_across_clients else "false",
        "QUOTA_TIERS": json.dumps(
            [
                {
                    "name": t.name,
                    "daily_tokens": t.daily_tokens,
                    "session_requests": t.session_requests_per_day,
                }
                for t in (*config.tiers, config.verification_tier)
            ]
        ),
        "DEFAULT_TIER": config.default_tier,
        "IDEMPOTENCY_TTL_SECONDS": str(config.idempotency_ttl_seconds),
        "CORS_ALLOWED_ORIGINS": json.dumps(list(config.cors_allowed_origins)),
        "JOBS_MAX_RECEIVE_COUNT": str(config.jobs.max_receive_count),
        "HISTORY_TURNS": str(config.history_turns),
        "MAX_MESSAGE_CHARS": str(config.max_message_chars),
        "TRANSCRIPT_RETENTION_DAYS": str(config.transcript_retention_days),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace(config),
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if not config.xray_sdk_subsegments:
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    if secret_arn is not None:
        environment["LLM_SECRET_ARN"] = secret_arn
    if controls_parameter is not None:
        environment["RUNTIME_CONTROLS_PARAMETER"] = controls_parameter
    return environment


# The Web Adapter's port for uvicorn (lambda_src/run.sh reads AWS_LWA_PORT).
WEB_ADAPTER_PORT = 8080


def stream_environment(config: StageConfig) -> dict[str, str]:
    """What the stream function adds: the Web Adapter's settings and the stream's timing."""
    stream = config.stream
    return {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",  # the adapter (layer) starts run.sh
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_PORT": str(WEB_ADAPTER_PORT),
        "AWS_LWA_READINESS_CHECK_PATH": "/ready",
        "STREAM_FIRST_TOKEN_SECONDS": str(stream.first_token_seconds),
        "STREAM_REPLY_SECONDS": str(stream.reply_seconds),
        "STREAM_IDLE_SECONDS": str(stream.idle_seconds),
        "STREAM_HEARTBEAT_SECONDS": str(stream.heartbeat_seconds),
        "STREAM_ADMISSION_WAIT_SECONDS": str(stream.admission_wait_seconds),
        "STREAM_FUNCTION_TIMEOUT_SECONDS": str(stream.function_timeout_seconds),
    }
