"""The release: one version (lambda_src, pyproject, the changelog), shown in /health, each function's
description and the dashboard; the commit only where changing it publishes nothing; a tag reaches prod
only when it names that release, the changelog has it, and the commit is on main."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lambda_src import __version__
from scripts.check_release import CHANGELOG, changelog_sections, deployed_to, problems
from stacks.release import current_commit
from tests.infra.conftest import REPO_ROOT, SynthesizedStage


def test_one_version_in_the_code_the_project_and_the_changelog() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    sections = changelog_sections(CHANGELOG.read_text())
    assert next(iter(sections)) == "Unreleased"  # newest first, with a place for what is not released
    assert sections[__version__], f"CHANGELOG.md needs a dated section for {__version__}"


def test_functions_name_the_release_and_nothing_that_changes_per_commit(stage: SynthesizedStage) -> None:
    commit = current_commit()
    functions = stage.service.find_resources("AWS::Lambda::Function")
    assert functions
    for logical_id, function in functions.items():
        description = function["Properties"].get("Description", "")
        if "Chatbot" not in description:
            continue  # CDK's own helper functions
        assert description.endswith(f", release {__version__}"), logical_id
        assert commit not in json.dumps(function), logical_id
        build = function["Properties"]["Environment"]["Variables"].get("BUILD_ID", "")
        assert build.startswith(f"{__version__}+"), logical_id


def test_the_dashboard_and_an_output_show_the_release_and_the_commit(stage: SynthesizedStage) -> None:
    commit = current_commit()
    (dashboard,) = stage.service.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert f"release **{__version__}**, commit `{commit}`" in body
    output = stage.service.find_outputs("Release")
    assert next(iter(output.values()))["Value"] == f"{__version__} (commit {commit})"


def _git(*args: str, cwd: Path) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603


def test_the_commit_is_the_checkouts_head_even_in_a_workflow_started_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Git must not find a repository above tmp_path, nor take one from the environment (hooks set GIT_DIR).
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    checkout, elsewhere = tmp_path / "checkout", tmp_path / "not-a-checkout"
    checkout.mkdir()
    elsewhere.mkdir()
    _git("init", "-q", cwd=checkout)
    _git("commit", "-q", "--allow-empty", "-m", "a release", cwd=checkout)
    head = _git("rev-parse", "HEAD", cwd=checkout)
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")  # e.g. a rollback's main
    assert current_commit(checkout) == head[:12]
    assert current_commit(elsewhere) == "0123456789ab"  # not a checkout: the workflow's commit
    monkeypatch.setenv("GITHUB_SHA", "not-a-sha")
    assert current_commit(elsewhere) == "unknown"


CHANGES = "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-11-20\n\n## [1.1.0] - 2026-10-01\n"


@pytest.mark.parametrize(
    ("tag", "version", "changelog", "on_main", "complaints"),
    [
        ("v1.2.0", "1.2.0", CHANGES, True, []),
        ("v1.3.0", "1.2.0", CHANGES, True, ["is not v1.2.0"]),
        ("v1.3.0", "1.3.0", CHANGES, True, ["no dated section for 1.3.0"]),
        ("v1.2.0", "1.2.0", CHANGES.replace(" - 2026-11-20", ""), True, ["no dated section for 1.2.0"]),
        ("v1.2.0", "1.2.0", CHANGES, False, ["not on main"]),
    ],
)
def test_a_tag_goes_to_prod_only_as_the_release_it_names(
    tag: str, version: str, changelog: str, on_main: bool, complaints: list[str]
) -> None:
    found = problems(tag, version, changelog, on_main)
    assert len(found) == len(complaints)
    for line, complaint in zip(found, complaints, strict=True):
        assert complaint in line


def test_a_tag_goes_to_prod_only_once_a_push_of_that_commit_went_through_staging() -> None:
    assert problems("v1.2.0", "1.2.0", CHANGES, True, deployed=False) == [
        "the tagged commit has no successful deployment to staging: deploy it there first"
    ]
    sha, repo = "0123456789abcdef0123456789abcdef01234567", "/repos/acme/chatbot"
    log = "https://github.com/acme/chatbot/actions/runs/{}/job/5"
    push = {"event": "push", "head_sha": sha, "path": ".github/workflows/deploy.yml"}
    statuses_7, statuses_9 = (
        f"{repo}/deployments/7/statuses?per_page=100",
        f"{repo}/deployments/9/statuses?per_page=100",
    )
    records: dict[str, Any] = {
        f"{repo}/deployments?sha={sha}&environment=staging&per_page=100": [{"id": 7}, {"id": 9}],
        statuses_7: [{"state": "failure", "log_url": log.format(70)}],
        statuses_9: [{"state": "in_progress", "log_url": log.format(90)}],
        f"{repo}/actions/runs/70": push,
        f"{repo}/actions/runs/90": push,
        # A rollback run started from main records main's sha while it deploys an older ref ...
        f"{repo}/actions/runs/80": {
            **push,
            "event": "workflow_dispatch",
            "path": ".github/workflows/rollback.yml",
        },
        # ... and neither a deploy.yml run started by hand, one for another commit, nor another workflow's
        # push run is deploy.yml's push of this one.
        f"{repo}/actions/runs/81": {**push, "event": "workflow_dispatch"},
        f"{repo}/actions/runs/82": {**push, "head_sha": "f" * 40},
        f"{repo}/actions/runs/83": {**push, "path": ".github/workflows/ci.yml"},
    }
    assert not deployed_to("staging", sha, "acme/chatbot", records.__getitem__)
    for run in (80, 81, 82, 83):
        records[statuses_7].insert(0, {"state": "success", "log_url": log.format(run)})
        assert not deployed_to("staging", sha, "acme/chatbot", records.__getitem__), run
    records[statuses_9].insert(0, {"state": "success", "log_url": log.format(90)})
    assert deployed_to("staging", sha, "acme/chatbot", records.__getitem__)
    nothing: dict[str, Any] = {f"{repo}/deployments?sha={sha}&environment=staging&per_page=100": []}
    assert not deployed_to("staging", sha, "acme/chatbot", nothing.__getitem__)
