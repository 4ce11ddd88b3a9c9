"""The one mapping from stage config and resource names to the chat Lambda's environment.

The names match the fields of ``lambda_src.chat.settings.Settings``; a test keeps them in step.
Values are names, ARNs and limits only: the LLM key is read from Secrets Manager at run time.
"""

from __future__ import annotations

from stacks.config import StageConfig

SERVICE_NAME = "chatbot"
METRICS_NAMESPACE = "Chatbot"


def chat_environment(config: StageConfig, *, table_name: str, secret_arn: str) -> dict[str, str]:
    return {
        "STAGE": config.name,
        "TABLE_NAME": table_name,
        "LLM_SECRET_ARN": secret_arn,
        "LLM_BASE_URL": config.llm.base_url,
        "LLM_MODEL": config.llm.model,
        "LLM_MAX_OUTPUT_TOKENS": str(config.llm.max_output_tokens),
        "LLM_TIMEOUT_SECONDS": str(config.llm.timeout_seconds),
        "LLM_SYSTEM_PROMPT": config.llm.system_prompt,
        "HISTORY_TURNS": str(config.history_turns),
        "MAX_MESSAGE_CHARS": str(config.max_message_chars),
        "TRANSCRIPT_RETENTION_DAYS": str(config.transcript_retention_days),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
