"""Configuration of the chat handler, read from the environment once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid; a deploy problem, never the caller's."""


class Settings(BaseModel):
    """Field names are the upper-cased environment variable names (stacks/runtime_environment.py)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = Field(min_length=1)
    table_name: str = Field(min_length=1)
    llm_secret_arn: str = Field(min_length=1)
    llm_base_url: str = Field(pattern=r"^https?://")
    llm_model: str = Field(min_length=1)
    llm_max_output_tokens: int = Field(gt=0)
    llm_timeout_seconds: float = Field(gt=0)
    llm_system_prompt: str = ""
    history_turns: int = Field(ge=0)
    transcript_retention_days: int = Field(gt=0)
    max_message_chars: int = Field(default=1000, gt=0)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in e['loc']).upper()}: {e['msg']}" for e in error.errors()
            )
            raise ConfigurationError(f"invalid environment: {problems}") from None
