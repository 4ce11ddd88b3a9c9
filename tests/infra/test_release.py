"""The release: one version (lambda_src, pyproject, the changelog), shown in /health, each function's
description and the dashboard; the commit only where changing it publishes nothing; a tag reaches prod
only when it names that release, the changelog has it, and the commit is on main."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from lambda_src import __version__
from scripts.check_release import CHANGELOG, changelog_sections, problems
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


def test_the_commit_is_the_workflows_or_the_checkouts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}|unknown", current_commit())
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    assert current_commit() == "0123456789ab"
    monkeypatch.setenv("GITHUB_SHA", "not-a-sha")
    assert current_commit() == "unknown"


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
