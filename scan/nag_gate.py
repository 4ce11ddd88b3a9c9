"""cdk-nag's five packs over a construct tree: findings left unanswered, and the raw count (what the packs
find when no acknowledgement is applied) so that the report shows how much was answered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from constructs import IConstruct

from stacks.nag import NAG_PACKS


@dataclass(frozen=True, order=True)
class NagFinding:
    pack: str
    rule: str
    path: str

    def __str__(self) -> str:
        return f"{self.rule} on {self.path}"


def pack_name(pack: type) -> str:
    return pack.__name__


def findings(scope: IConstruct, packs: Iterable[type] = NAG_PACKS) -> list[NagFinding]:
    """Every finding the packs report on ``scope`` and that no acknowledgement answers."""
    return sorted(
        {
            NagFinding(pack_name(pack), violation.rule_name, str(resource.construct_path))
            for pack in packs
            for violation in pack().validate_scope(scope).violations
            for resource in violation.violating_resources
        }
    )
