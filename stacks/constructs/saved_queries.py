"""Saved CloudWatch Logs Insights queries (AWS::Logs::QueryDefinition) for where the tokens go, what
fails, who uses the chatbot and what they think of it, under "chatbot/<stage>/" in the console's saved
queries. They read the fields the handlers log (lambda_src/chat/telemetry.py record_turn and
record_feedback, handlers/worker.py) and the API's JSON access log (chat_api.ACCESS_LOG_FIELDS); none of
those holds message text."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_logs as logs
from constructs import Construct

TURN_ANSWERED = 'message = "chat turn answered"'
FEEDBACK_GIVEN = 'message = "feedback given"'


def query_strings() -> dict[str, tuple[str, logs.QueryString]]:
    """name -> (the log lines it reads: "turns", "feedback" (turns and feedback, in the same log groups),
    "worker" or "access", the query)."""
    return {
        # count_distinct is exact up to about 10,000 distinct clients a row, and approximate beyond.
        "daily-active-clients": (
            "turns",
            logs.QueryString(
                filter_statements=[TURN_ANSWERED],
                stats_statements=[
                    "count_distinct(client) as active, count(*) as turns, "
                    "sum(input_tokens + output_tokens) as tokens by datefloor(@timestamp, 1d) as day, caller"
                ],
                sort="day desc",
                limit=200,
            ),
        ),
        "turns-and-tokens-by-tier": (
            "turns",
            logs.QueryString(
                filter_statements=[TURN_ANSWERED],
                stats_statements=[
                    "count(*) as turns, sum(input_tokens + output_tokens) as tokens, "
                    "count_distinct(client) as active by datefloor(@timestamp, 1d) as day, tier"
                ],
                sort="day desc, tokens desc",
                limit=200,
            ),
        ),
        "feedback-by-day": (
            "feedback",
            logs.QueryString(
                # A turn's line has input_tokens, a feedback line a rating: each count() counts its own.
                filter_statements=[f"{TURN_ANSWERED} or {FEEDBACK_GIVEN}"],
                stats_statements=[
                    "count(input_tokens) as turns, count(rating) as feedback, sum(votes_up) as up, "
                    "sum(votes_down) as down by datefloor(@timestamp, 1d) as day"
                ],
                sort="day desc",
                limit=100,
            ),
        ),
        "thumbs-down-by-category": (
            "feedback",
            logs.QueryString(
                filter_statements=[FEEDBACK_GIVEN, 'rating = "down"'],
                stats_statements=["count(*) as feedback by category, model, provider"],
                sort="feedback desc",
                limit=50,
            ),
        ),
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
            "feedback": turn_logs,  # the chat function's group holds the feedback lines
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
