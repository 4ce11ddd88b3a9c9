"""cdk-nag wiring, and the two helpers every answered finding goes through: acknowledge() for cdk-nag
rules and CDK warnings, skip_checkov() for checkov checks. Both sit on the narrowest construct and
refuse a vague reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import aws_cdk as cdk
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
from constructs import IConstruct

MIN_REASON_LENGTH = 20
NAG_PACKS: tuple[type[NagPack], ...] = (
    AwsSolutionsChecks,
    ServerlessChecks,
    NIST80053R5Checks,
    HIPAASecurityChecks,
    PCIDSS321Checks,
)
CHECKOV_METADATA_KEY = "checkov"
# Rule-id prefixes of the packs whose rules share names (e.g. NIST.800.53.R5-LambdaDLQ).
NIST = "NIST.800.53.R5"
HIPAA = "HIPAA.Security"
PCI = "PCI.DSS.321"

# While suspended (scan's raw counts), acknowledge() records what it would have acknowledged instead.
_suspended: list[list[tuple[str, str]]] = []


def add_nag_checks(app: cdk.App) -> None:
    """Make every synth fail on an unacknowledged finding of any of the five packs."""
    validations = cdk.Validations.of(app)
    for pack in NAG_PACKS:
        validations.add_plugins(pack(app))


def _require_reason(what: str, reason: str) -> None:
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"{what} needs a specific reason, got {reason!r}")


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on the narrowest construct, with a reason a reviewer can check."""
    _require_reason(f"acknowledgement of {rule_id}", reason)
    if _suspended:
        _suspended[-1].append((construct.node.path, rule_id))
        return
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def acknowledge_rules(
    construct: IConstruct, rule: str, packs: Iterable[str], reason: str, *, checkov: str | None = None
) -> None:
    """Acknowledge the same rule in several packs (``rule`` without its pack prefix) for one reason, and
    skip the checkov check that says the same thing, if there is one."""
    for pack in packs:
        acknowledge(construct, f"{pack}-{rule}", reason)
    if checkov is not None:
        skip_checkov(construct, checkov, reason)


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip one checkov check on one resource (template metadata checkov reads), with the reason."""
    _require_reason(f"checkov skip of {check_id}", reason)
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(
            f"{construct.node.path} is not a CloudFormation resource; skip on the resource itself"
        )
    skips = list((resource.get_metadata(CHECKOV_METADATA_KEY) or {}).get("skip", []))
    if any(skip["id"] == check_id for skip in skips):
        raise ValueError(f"{check_id} is already skipped on {resource.node.path}")
    skips.append({"id": check_id, "comment": reason})
    resource.add_metadata(CHECKOV_METADATA_KEY, {"skip": skips})


@contextmanager
def acknowledgements_suspended() -> Iterator[list[tuple[str, str]]]:
    """Build constructs without acknowledging anything, to count raw findings; yields (path, rule) of
    every acknowledgement the code would have made."""
    recorded: list[tuple[str, str]] = []
    _suspended.append(recorded)
    try:
        yield recorded
    finally:
        _suspended.pop()
