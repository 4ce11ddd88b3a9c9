"""Configuration of streamed replies (POST /chat/stream): how long a reply may take, the silences it may
have, what keeps CloudFront's origin connection open, and the alarms on time to first token.

What the services allow (checked against their documentation, 2026-11):
- API Gateway REST, ResponseTransferMode STREAM: an integration timeout of up to 15 minutes, and an idle
  timeout of 5 minutes between bytes on a regional endpoint (30 s on an edge-optimized one).
- Lambda: 15 minutes at most.
- CloudFront: the origin read timeout (the longest wait for the next bytes from the origin) is 1-60 s
  without a quota increase; a heartbeat comment more often than that keeps a quiet stream open.
"""

from __future__ import annotations

from dataclasses import dataclass

STREAM_INTEGRATION_LIMIT_SECONDS = 900
API_GATEWAY_STREAM_IDLE_SECONDS = 300
CLOUDFRONT_MAX_ORIGIN_READ_TIMEOUT_SECONDS = 60
# Cold start (the Web Adapter starts uvicorn) and storing the reply, on top of the reply itself.
STREAM_MARGIN_SECONDS = 15


@dataclass(frozen=True, kw_only=True)
class StreamConfig:
    first_token_seconds: float = 30.0  # until the first piece, failover included
    reply_seconds: int = 300  # the whole reply
    idle_seconds: float = 30.0  # the longest silence between two pieces before the reply counts as cut
    heartbeat_seconds: float = 10.0  # a comment line on a quiet stream
    origin_read_timeout_seconds: int = 30  # CloudFront's wait for the next bytes from API Gateway
    # A resend of a message still being answered waits this long for that answer (no byte can be sent
    # meanwhile), then gets 409 with Retry-After.
    admission_wait_seconds: float = 10.0
    function_timeout_seconds: int = 330
    # The AWS Lambda Web Adapter's public layer (account 753240598075), arm64; its version is pinned.
    web_adapter_layer_version: int = 25
    # Alarms: time to first token p90 (also a rollback alarm of the stream function's deployments), and
    # the share of started streams the provider cut (volume-guarded).
    ttft_p90_alarm_ms: float = 10_000
    incomplete_percent_alarm: float = 5.0
    incomplete_alarm_min_streams: int = 20

    def problems(self, stage: str) -> list[str]:
        found = []
        if not 0 < self.first_token_seconds <= self.reply_seconds:
            found.append("first_token_seconds must be within reply_seconds")
        if self.reply_seconds + STREAM_MARGIN_SECONDS > self.function_timeout_seconds:
            found.append(
                f"function_timeout_seconds must leave {STREAM_MARGIN_SECONDS} s beyond reply_seconds"
            )
        if self.function_timeout_seconds > STREAM_INTEGRATION_LIMIT_SECONDS:
            found.append(f"function_timeout_seconds exceeds the {STREAM_INTEGRATION_LIMIT_SECONDS} s limit")
        if not 0 < self.origin_read_timeout_seconds <= CLOUDFRONT_MAX_ORIGIN_READ_TIMEOUT_SECONDS:
            found.append("origin_read_timeout_seconds must be 1-60 (CloudFront's limit)")
        if self.heartbeat_seconds >= self.origin_read_timeout_seconds:
            found.append("heartbeat_seconds must be shorter than origin_read_timeout_seconds")
        if not 0 < self.admission_wait_seconds < self.origin_read_timeout_seconds:
            found.append("admission_wait_seconds must be shorter than origin_read_timeout_seconds")
        if self.idle_seconds >= API_GATEWAY_STREAM_IDLE_SECONDS:
            found.append("idle_seconds must be shorter than API Gateway's stream idle timeout")
        return [f"{stage}: stream.{problem}" for problem in found]
