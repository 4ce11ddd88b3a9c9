"""cfn-lint over synthesized templates: the CloudFormation schemas' patterns, enums and limits.

Errors always fail. Warnings fail unless scan/cfn_lint_allowed.toml allows them, each entry with a
reason. Informational findings are counted, never fatal.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint

ALLOWED_FILE = Path(__file__).with_name("cfn_lint_allowed.toml")
SEVERITIES = ("error", "warning", "informational")


@dataclass(frozen=True)
class Allowance:
    rule: str
    resource_type: str
    message: str
    reason: str


@dataclass(frozen=True)
class LintFinding:
    template: str
    rule: str
    severity: str
    resource: str
    resource_type: str
    message: str
    line: int
    allowed_by: Allowance | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == "error" or (self.severity == "warning" and self.allowed_by is None)

    def __str__(self) -> str:
        return f"{self.template}:{self.line} {self.rule} [{self.severity}] {self.resource}: {self.message}"


def load_allowances(path: Path = ALLOWED_FILE) -> list[Allowance]:
    entries = tomllib.loads(path.read_text()).get("allow", [])
    return [Allowance(**entry) for entry in entries]


def _severity(rule_id: str) -> str:
    return {"E": "error", "W": "warning", "I": "informational"}.get(rule_id[:1], "error")


def lint_template(name: str, text: str, *, region: str, allowances: Iterable[Allowance]) -> list[LintFinding]:
    """Lint one template (its JSON text, so that line numbers mean something) as deployed to ``region``."""
    allowances = list(allowances)
    resources: Mapping[str, Any] = json.loads(text).get("Resources", {})
    found = []
    matches = lint(text, config=ManualArgs(regions=[region], include_checks=["I"]))
    for match in matches:
        path = list(match.path)
        resource = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
        resource_type = resources.get(resource, {}).get("Type", "")
        rule = match.rule.id
        allowed = next(
            (
                a
                for a in allowances
                if a.rule == rule
                and a.resource_type == resource_type
                and fnmatch.fnmatchcase(match.message, a.message)
            ),
            None,
        )
        found.append(
            LintFinding(
                template=name,
                rule=rule,
                severity=_severity(rule),
                resource=resource,
                resource_type=resource_type,
                message=match.message,
                line=match.linenumber,
                allowed_by=allowed,
            )
        )
    return found
