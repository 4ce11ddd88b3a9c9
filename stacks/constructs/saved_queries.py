"""Saved CloudWatch Logs Insights queries (AWS::Logs::QueryDefinition) for where the tokens go and what
fails, under "chatbot/<stage>/" in the console's saved queries. They read the fields the handlers log
(lambda_src/chat/telemetry.py record_turn, handlers/worker.py) and the API's JSON access log
(chat_api.ACCESS_LOG_FIELDS); none of those holds message text."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_logs as logs
from constructs import Construct

TURN_ANSWERED = 'message = "chat turn answered"'


def query_strings() -> dict[str, tuple[str, logs.QueryString]]:
    """name -> (the log groups it reads: "turns", "worker" or "access", the query)."""
    return {
        "tokens-by-client": (
            "turns",
            logs.QueryString(
                filter_statements=[TURN_ANSWERED],
                stats_statements=[
                    "sum(input_tokens + output_tokens) as tokens, sum(input_tokens) as input, "
                    "sum(output_tokens) as output, count(*) as turns "
                    "by datefloor(@timestamp, 1d) as day, client"
                ],
                sort="day desc, tokens desc",
                limit=100,
            ),
        ),
        "top-429-clients": (
            "access",
            logs.QueryString(
                # Usage-plan throttles and quota refusals alike; a signed-in person has no apiKeyId.
                filter_statements=["status = 429"],
                stats_statements=["count(*) as refused by apiKeyId, resourcePath"],
                sort="refused desc",
                limit=20,
            ),
        ),
        "slowest-turns": (
            "turns",
            logs.QueryString(
                fields=[
                    "@timestamp",
                    "client",
                    "session_id",
                    "llm_latency_ms",
                    "provider",
                    "model",
                    "input_tokens",
                    "output_tokens",
                    "cache_hit",
                ],
                filter_statements=[TURN_ANSWERED],
                sort="llm_latency_ms desc",
                limit=25,
            ),
        ),
        "errors-by-route": (
            "access",
            logs.QueryString(
                filter_statements=["status >= 400"],
                stats_statements=["count(*) as answers by resourcePath, httpMethod, status"],
                sort="answers desc",
                limit=50,
            ),
        ),
        "failed-jobs": (
            "worker",
            logs.QueryString(
                filter_statements=["message like /^job (failed|message unreadable)/"],
                stats_statements=["count(*) as jobs by message, reason, client"],
                sort="jobs desc",
                limit=50,
            ),
        ),
    }


class SavedQueries(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        turn_logs: Sequence[logs.ILogGroup],
        worker_logs: logs.ILogGroup,
        access_logs: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        groups: dict[str, Sequence[logs.ILogGroup]] = {
            "turns": turn_logs,
            "worker": [worker_logs],
            "access": [access_logs],
        }
        self.definitions = [
            logs.QueryDefinition(
                self,
                name,
                query_definition_name=f"chatbot/{stage_name}/{name}",
                query_string=query,
                log_groups=list(groups[reads]),
            )
            for name, (reads, query) in query_strings().items()
        ]
