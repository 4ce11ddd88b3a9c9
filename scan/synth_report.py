"""The validation report that every synth writes (cdk.out/validation-report.json), read as a gate.

aws-cdk-lib runs its CloudFormation schema validator and collects construct annotations into this report
on every synth, but `cdk synth --quiet` prints neither and exits 0 even when the validator's conclusion is
"failure". `make synth` runs this module after synth: any failed plugin, any error and any warning that
was not acknowledged fails the build and is printed. A warning is acknowledged with a reason through
stacks.nag.acknowledge() on the construct that raised it; acknowledged warnings never reach the report.

    python -m scan.synth_report cdk.out
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT_NAME = "validation-report.json"
# Everything else blocks, including a severity this gate has never seen.
PASSING_SEVERITIES = frozenset({"info", "informational"})


@dataclass(frozen=True)
class Finding:
    plugin: str
    rule: str
    severity: str
    description: str
    where: tuple[str, ...]

    def __str__(self) -> str:
        places = "\n".join(f"      at {place}" for place in self.where) or "      at (no construct named)"
        return f"  [{self.severity}] {self.plugin}: {self.rule}\n      {self.description}\n{places}"


def _where(construct: dict[str, Any]) -> str:
    path = construct.get("constructPath", "?")
    resource = construct.get("cloudFormationResource") or {}
    if resource:
        props = ",".join(resource.get("propertyPaths", []))
        return f"{path} ({resource.get('logicalId')} {props})".rstrip()
    return path


def findings(report: dict[str, Any]) -> list[Finding]:
    """Everything in the report that must stop a deploy."""
    found: list[Finding] = []
    for plugin in report.get("pluginReports", []):
        name = plugin.get("pluginName", "?")
        violations = plugin.get("violations", [])
        for violation in violations:
            severity = str(violation.get("severity", "error")).lower()
            if severity not in PASSING_SEVERITIES:
                found.append(
                    Finding(
                        plugin=name,
                        rule=violation.get("ruleName", "?"),
                        severity=severity,
                        description=violation.get("description", ""),
                        where=tuple(_where(c) for c in violation.get("violatingConstructs", [])),
                    )
                )
        if plugin.get("conclusion") == "failure" and not any(f.plugin == name for f in found):
            found.append(Finding(name, "conclusion", "error", "the plugin concluded 'failure'", ()))
    return found


def check(out_dir: Path) -> list[Finding]:
    path = out_dir / REPORT_NAME
    if not path.is_file():
        # aws-cdk-lib writes the report on every synth, empty when there is nothing to say; its absence
        # means the validator was turned off (CDK_VALIDATION=false) or synth did not run.
        return [Finding("synth", "no-report", "error", f"{path} is missing: synth did not validate", ())]
    return findings(json.loads(path.read_text()))


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    found = check(out_dir)
    if found:
        print(f"{out_dir / REPORT_NAME}: {len(found)} finding(s) stop this synth:", file=sys.stderr)
        for finding in found:
            print(finding, file=sys.stderr)
        print(
            "Fix the template, or acknowledge a warning that does not apply on its construct with "
            "stacks.nag.acknowledge(construct, '<id>', '<specific reason>').",
            file=sys.stderr,
        )
        return 1
    print(f"{out_dir / REPORT_NAME}: no failures, errors or unacknowledged warnings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
