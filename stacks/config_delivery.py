"""Configuration of delivery: which GitHub repository and environment may deploy a stage, through GitHub's
OpenID Connect tokens (no long-lived AWS keys anywhere)."""

from __future__ import annotations

from dataclasses import dataclass

# Until a stage names its own repository, synth works and check_deployable refuses to deploy.
PLACEHOLDER_REPOSITORY = "example-org/chatbot-platform"
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# The CDK bootstrap qualifier this project deploys with (cdk.json sets no other).
CDK_QUALIFIER = "hnb659fds"
# The tag on the API key a deploy job may read, to run the smoke and contract tests after a deploy
# (make smoke, make integ): the stage's verification key, tagged with the stage's name, so that a role of
# one stage cannot read another stage's key in the same account, and never a client's key.
VERIFICATION_KEY_TAG = "chatbot-verification"
# The stacks whose outputs those tests read (scripts/smoke.py stage_endpoint).
VERIFIED_STACKS = ("ChatbotService", "ChatbotWeb")


@dataclass(frozen=True, kw_only=True)
class DeliveryConfig:
    github_repository: str = PLACEHOLDER_REPOSITORY  # owner/name
    # The GitHub environment whose jobs may deploy the stage; the workflows name environments after stages.
    github_environment: str = ""  # "" = the stage's name
    # One OpenID Connect provider per account and URL: False where the account has one already (another
    # stage in the same account, or an organisation-wide one), which is then referenced by ARN.
    create_oidc_provider: bool = True
    max_session_hours: int = 1

    def problems(self, stage: str) -> list[str]:
        found = []
        owner, slash, name = self.github_repository.partition("/")
        if not (owner and slash and name) or "/" in name or "*" in self.github_repository:
            found.append(f"{stage}: delivery.github_repository must be owner/name, without wildcards")
        if not 1 <= self.max_session_hours <= 12:
            found.append(f"{stage}: delivery.max_session_hours must be 1-12")
        return found
