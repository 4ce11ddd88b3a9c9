"""checkov (framework cloudformation) over synthesized templates.

checkov pins its own boto3, older than the one the Lambda code is tested against, so it lives in a
virtualenv of its own (.venv-scan, from requirements-scan.txt) and runs as a subprocess.

A failed check fails the gate. A check that does not apply is skipped on its resource through template
metadata written next to the construct (stacks.nag.skip_checkov), and a skip without a specific reason
fails the gate too. The gate also proves checkov read every resource of every template, so a template it
could not parse is never passed over in silence.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scan import REPO_ROOT

CHECKOV = REPO_ROOT / ".venv-scan" / "bin" / "checkov"
MIN_REASON_LENGTH = 20
NO_REASON = "No comment provided"  # what checkov reports for a skip without a comment


class CheckovUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    resource: str  # "<type>.<logical id>"
    template: str
    reason: str = ""


@dataclass
class CheckovResult:
    failed: list[CheckResult] = field(default_factory=list)
    skipped: list[CheckResult] = field(default_factory=list)
    passed: int = 0
    parsing_errors: list[str] = field(default_factory=list)
    resources_read: int = 0
    resources_expected: int = 0
    version: str = ""

    @property
    def unexplained_skips(self) -> list[CheckResult]:
        return [s for s in self.skipped if s.reason == NO_REASON or len(s.reason.strip()) < MIN_REASON_LENGTH]

    @property
    def problems(self) -> list[str]:
        """Everything that fails the gate, one line each."""
        lines = [f"{c.template}: {c.check_id} failed on {c.resource}" for c in self.failed]
        lines += [
            f"{c.template}: {c.check_id} skipped on {c.resource} without a specific reason ({c.reason!r})"
            for c in self.unexplained_skips
        ]
        lines += [f"checkov could not parse {path}" for path in self.parsing_errors]
        if self.resources_read != self.resources_expected:
            lines.append(
                f"checkov read {self.resources_read} resources of the {self.resources_expected} in the "
                "templates: some were passed over"
            )
        return lines


def checkov_command() -> Path:
    if CHECKOV.exists():
        return CHECKOV
    found = shutil.which("checkov")
    if found is None:
        raise CheckovUnavailable(f"checkov is not installed at {CHECKOV}: run `make install`")
    return Path(found)


def _result(entry: dict, *, reason: bool = False) -> CheckResult:
    return CheckResult(
        check_id=entry["check_id"],
        resource=entry["resource"],
        template=Path(entry["file_path"]).name,
        reason=entry["check_result"].get("suppress_comment", "") if reason else "",
    )


def scan_templates(paths: Sequence[Path]) -> CheckovResult:
    """Run checkov once over these template files."""
    if not paths:
        return CheckovResult()
    command = [str(checkov_command()), "--framework", "cloudformation", "--output", "json"]
    # --skip-download: no policy download from the Prisma Cloud platform (synth and scans stay offline).
    command += ["--skip-download", "--compact", "--soft-fail"]
    for path in paths:
        command += ["--file", str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
    if completed.returncode != 0 or not completed.stdout.strip():
        raise CheckovUnavailable(f"checkov failed ({completed.returncode}): {completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    result = CheckovResult()
    for path in paths:
        try:
            result.resources_expected += len(json.loads(path.read_text()).get("Resources", {}))
        except json.JSONDecodeError:
            result.parsing_errors.append(str(path))
    for one in reports:
        if "results" not in one:  # "no files scanned" answers with only a summary
            result.parsing_errors += [str(p) for p in paths]
            continue
        results = one["results"]
        result.failed += [_result(c) for c in results["failed_checks"]]
        result.skipped += [_result(c, reason=True) for c in results["skipped_checks"]]
        result.passed += len(results["passed_checks"])
        result.parsing_errors += [
            e for e in results.get("parsing_errors", []) if e not in result.parsing_errors
        ]
        result.resources_read += one["summary"]["resource_count"]
        result.version = one["summary"].get("checkov_version", "")
    return result
