"""What CloudFront adds to every answer: security headers on all of them, and CORS headers on the API's
for the origins in config, including the answers API Gateway gives itself (400, 403, 429, 5XX), which
never reach the handler's own CORS."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.chat_api import CORS_ALLOW_HEADERS

# The page talks only to its own origin (and to the Cognito sign-in domain for the token exchange);
# nothing inline, no third-party script, style or frame.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def content_security_policy(sign_in_url: str | None = None) -> str:
    if sign_in_url is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src 'self' {sign_in_url}")


# What browser code on a listed origin may read of an answer besides the simple headers.
CORS_EXPOSE_HEADERS = (
    "Retry-After",
    "X-Quota-Tokens-Remaining",
    "X-Quota-Session-Requests-Remaining",
    "Location",
)


def _security_headers(csp: str) -> cloudfront.ResponseSecurityHeadersBehavior:
    return cloudfront.ResponseSecurityHeadersBehavior(
        strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
            access_control_max_age=cdk.Duration.days(730),
            include_subdomains=True,
            preload=True,
            override=True,
        ),
        content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
            content_security_policy=csp, override=True
        ),
        content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
        frame_options=cloudfront.ResponseHeadersFrameOptions(
            frame_option=cloudfront.HeadersFrameOption.DENY, override=True
        ),
        referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
            referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
            override=True,
        ),
    )


class ResponseHeaders(Construct):
    """``page`` for the chat page; ``api`` for /api/*: the same, plus CORS where origins are listed."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, sign_in_url: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        security = _security_headers(content_security_policy(sign_in_url))
        # The stack-level ID of earlier releases: the policy keeps its logical ID and name.
        self.page = cloudfront.ResponseHeadersPolicy(
            cdk.Stack.of(self),
            "SecurityHeaders",
            comment=f"Chatbot {config.name}: HSTS, CSP, nosniff, frame and referrer policy",
            security_headers_behavior=security,
        )
        self.api = self.page
        if config.cors_allowed_origins:
            self.api = cloudfront.ResponseHeadersPolicy(
                self,
                "Api",
                comment=f"Chatbot {config.name} API: security headers and CORS for the listed origins",
                security_headers_behavior=security,
                cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                    access_control_allow_origins=list(config.cors_allowed_origins),
                    access_control_allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                    access_control_allow_headers=list(CORS_ALLOW_HEADERS),
                    access_control_expose_headers=list(CORS_EXPOSE_HEADERS),
                    access_control_allow_credentials=False,
                    access_control_max_age=cdk.Duration.hours(1),
                    # The handler's own headers, where it answered, stay as they are.
                    origin_override=False,
                ),
            )
