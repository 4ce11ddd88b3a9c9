"""What the chat handler needs, built once per container from its validated settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import boto3
from aws_lambda_powertools.utilities import parameters
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.history import ConversationHistory
from lambda_src.chat.llm import ChatModel, LlmUnavailable, OpenAICompatibleClient
from lambda_src.chat.settings import Settings

# A rotated key is picked up within this many seconds without a cold start.
SECRET_CACHE_SECONDS = 300
# botocore's defaults (60 s connect and read) would let one slow AWS call outlive the whole request.
AWS_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    history: ConversationHistory
    llm: ChatModel


def read_api_key(secrets: parameters.SecretsProvider, secret_arn: str) -> str:
    """The provider key: a plain string, or JSON with an "apiKey" field. Cached per container."""
    try:
        value = secrets.get(secret_arn, max_age=SECRET_CACHE_SECONDS)
    except (parameters.GetParameterError, ClientError, BotoCoreError):
        raise LlmUnavailable("credentials_unavailable") from None
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.lstrip().startswith("{"):
        try:
            text = str(json.loads(text)["apiKey"])
        except (ValueError, KeyError, TypeError):
            raise LlmUnavailable("credentials_unavailable") from None
    return text.strip()


@cache
def dependencies() -> Dependencies:
    settings = Settings.from_environ()
    table = boto3.resource("dynamodb", config=AWS_CLIENT_CONFIG).Table(settings.table_name)
    secrets = parameters.SecretsProvider(boto_config=AWS_CLIENT_CONFIG)
    return Dependencies(
        settings=settings,
        history=ConversationHistory(table, retention_days=settings.transcript_retention_days),
        llm=OpenAICompatibleClient(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            max_output_tokens=settings.llm_max_output_tokens,
            api_key=lambda: read_api_key(secrets, settings.llm_secret_arn),
        ),
    )
