"""How people and programs reach a stage: the edge (CloudFront, its web ACL and domain) and who may sign
up on the chat page. Part of the stage configuration (stacks/config_model.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# A hosted zone that exists only so that prod synthesizes offline with a custom domain (prod requires
# one); `make deploy` refuses a stage that still carries it, since its certificate could never validate.
PLACEHOLDER_HOSTED_ZONE_ID = "Z0PLACEHOLDER0000000"
# Nobody owns addresses at example.com: a stage whose sign-up allow-list still names it is refused too.
PLACEHOLDER_EMAIL_DOMAIN = "example.com"
# The lowest limit a WAF rate-based rule accepts (requests per evaluation window).
WAF_MINIMUM_RATE_LIMIT = 10


@dataclass(frozen=True, kw_only=True)
class CustomDomain:
    """A name for the chat page and API, with its Route 53 hosted zone (looked up by id: no lookups)."""

    domain_name: str  # e.g. chat.example.com
    hosted_zone_id: str
    hosted_zone_name: str  # e.g. example.com


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    """CloudFront and its web ACL (scope CLOUDFRONT, always in us-east-1)."""

    rate_limit_per_ip_per_5_minutes: int  # requests without an x-api-key: the page, /health
    rate_limit_per_api_key_per_5_minutes: int  # one key value, from any number of addresses
    # Requests with an x-api-key, per viewer IP: a program of the fastest tier fits under it, and a caller
    # that sends a made-up key on every request is still limited. Clients behind one NAT share it.
    rate_limit_per_ip_with_api_key_per_5_minutes: int = 7_500
    # GET /api/health per viewer IP: monitors and smoke tests need a few a minute, and the route has a
    # single API Gateway method throttle for everyone, which one caller must not be able to use up.
    health_rate_limit_per_ip_per_5_minutes: int = 60
    block_anonymous_ips: bool = False  # VPNs, Tor, hosting providers: on where abuse outweighs reach
    # With block_anonymous_ips, whether addresses of hosting and cloud providers are refused too. Off by
    # default (the rule only counts): API clients are programs, and programs run on hosting providers,
    # GitHub's runners that smoke- and contract-test each deploy included.
    block_hosting_providers: bool = False
    # 16 KiB: CloudFront's web ACL inspects at most this much of a body by default; bigger bodies match.
    max_chat_body_bytes: int = 16 * 1024
    geo_allow_list: tuple[str, ...] = ()  # ISO country codes; empty allows every country
    custom_domain: CustomDomain | None = None

    def __post_init__(self) -> None:
        for name in (
            "rate_limit_per_ip_per_5_minutes",
            "rate_limit_per_api_key_per_5_minutes",
            "rate_limit_per_ip_with_api_key_per_5_minutes",
            "health_rate_limit_per_ip_per_5_minutes",
        ):
            if getattr(self, name) < WAF_MINIMUM_RATE_LIMIT:
                raise ValueError(f"edge.{name} must be at least {WAF_MINIMUM_RATE_LIMIT}, WAF's minimum")


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True, kw_only=True)
class SignUp:
    """Who may create an account on the chat page (stages with browser_sign_in). Every account gets the
    default tier's tokens, so open sign-up lets anyone mint allowances; it comes with a web ACL.

    admin_only:    operators create users (aws cognito-idp admin-create-user); no self sign-up.
    email_domains: self sign-up, refused by a pre sign-up trigger unless the address is of a listed domain.
    open:          self sign-up for anyone, behind a web ACL on the user pool (rate limit per IP, AWS
                   IP reputation and anonymous-IP lists).
    """

    mode: Literal["admin_only", "email_domains", "open"]
    email_domains: tuple[str, ...] = ()  # exact domains; a subdomain must be listed itself
    requests_per_ip_per_5_minutes: int = 100  # open: the user pool's web ACL

    def __post_init__(self) -> None:
        if (self.mode == "email_domains") != bool(self.email_domains):
            raise ValueError("sign_up: email_domains are required for, and only for, mode 'email_domains'")
        for domain in self.email_domains:
            if not _DOMAIN.match(domain):
                raise ValueError(f"sign_up: {domain!r} is not a lower-case domain name")
        if not 10 <= self.requests_per_ip_per_5_minutes <= 2_000_000_000:
            raise ValueError("sign_up: requests_per_ip_per_5_minutes must be at least WAF's minimum of 10")
