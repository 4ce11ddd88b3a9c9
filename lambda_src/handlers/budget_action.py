"""Budget action: when the stage's monthly budget reports 100 % of its limit actually spent (AWS Budgets,
through an SNS topic of its own), turn the kill switch on and tell on-call on the alarm topic.

It never turns the switch off: an operator does, after raising the budget or deciding to spend on
(docs/runbooks/cost-spike.md). A switch that is already on is left as it is, reason included.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambda_src.chat.controls import CONTROLS_CACHE_SECONDS, RuntimeControls

logger = Logger()
REASON = "monthly budget reached (AWS Budgets, 100 % actual)"
CHANGED_BY = "budget-action"
# Nothing waits on this function: more patience than the chat's clients, and SNS retries it as well.
AWS_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 5})


def pause_for_budget(
    ssm: Any, sns: Any, *, parameter: str, topic_arn: str, stage: str, now: datetime
) -> bool:
    """Turn the kill switch on and tell on-call; False if it was on already (nothing is written)."""
    current = RuntimeControls.model_validate_json(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    if current.turns_paused:
        logger.info("kill switch already on; left as it is")
        return False
    paused = current.model_copy(
        update={
            "turns_paused": True,
            "reason": REASON,
            "changed_by": CHANGED_BY,
            "changed_at": now.isoformat(timespec="seconds"),
        }
    )
    ssm.put_parameter(Name=parameter, Value=paused.to_json(), Type="String", Overwrite=True)
    logger.warning("kill switch turned on: monthly budget reached")
    sns.publish(
        TopicArn=topic_arn,
        Subject=f"Chatbot {stage}: kill switch ON, monthly budget reached",
        Message=(
            f"AWS Budgets reports the {stage} stage's monthly budget spent. The kill switch is on: within "
            f"{CONTROLS_CACHE_SECONDS} s every new chat turn answers 503 with the degraded reply; health, "
            "transcripts and erasure keep working.\n\n"
            "Find the source and decide (docs/runbooks/cost-spike.md). To admit turns again:\n"
            f"  python -m scripts.controls --stage {stage} kill-switch --off --apply"
        ),
    )
    return True


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, bool]:
    # The event is AWS Budgets' notification, which this topic alone receives; its text is not needed.
    logger.info("budget notification received", extra={"records": len(event.get("Records", []))})
    changed = pause_for_budget(
        boto3.client("ssm", config=AWS_CLIENT_CONFIG),
        boto3.client("sns", config=AWS_CLIENT_CONFIG),
        parameter=os.environ["RUNTIME_CONTROLS_PARAMETER"],
        topic_arn=os.environ["ALARM_TOPIC_ARN"],
        stage=os.environ["STAGE"],
        now=datetime.now(UTC),
    )
    return {"paused": changed}
