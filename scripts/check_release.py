"""Before a tag goes to prod: the tag names the release this commit is (lambda_src.__version__), the
changelog has a dated section for it, the commit is on main, and (with --deployed-to staging, as the
deploy workflow runs it) this very commit was deployed to staging successfully, by GitHub's record of
the staging environment's deployments.

    python -m scripts.check_release v0.2.0 [--main-ref origin/main] [--deployed-to staging]

--deployed-to reads GITHUB_REPOSITORY, GITHUB_TOKEN (deployments: read, actions: read) and
GITHUB_API_URL.

Exits 0 when all hold, 1 with the reasons otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambda_src import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = REPO_ROOT / "CHANGELOG.md"
SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$", re.M)


def changelog_sections(text: str) -> dict[str, str | None]:
    """Version -> release date (None for a section without one, such as Unreleased)."""
    return {m["version"]: m["date"] for m in SECTION.finditer(text)}


def problems(tag: str, version: str, changelog: str, on_main: bool, deployed: bool = True) -> list[str]:
    found = []
    if tag != f"v{version}":
        found.append(
            f"the tag {tag} is not v{version}, the version this commit holds (lambda_src/__init__.py)"
        )
    if not changelog_sections(changelog).get(version):
        found.append(f"CHANGELOG.md has no dated section for {version} (## [{version}] - YYYY-MM-DD)")
    if not on_main:
        found.append("the tagged commit is not on main: it has not been through dev and staging")
    if not deployed:
        found.append("the tagged commit has no successful deployment to staging: deploy it there first")
    return found


def github_get(path: str) -> Any:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    request = urllib.request.Request(  # noqa: S310 - GitHub's API over https
        f"{api}{path}",
        headers={
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "Accept": "application/vnd.github+json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


RUN_URL = re.compile(r"/actions/runs/(\d+)")


def deployed_to(environment: str, sha: str, repository: str, get: Callable[[str], Any] = github_get) -> bool:
    """Whether deploy.yml, run for a push of exactly ``sha``, deployed it to ``environment`` successfully.
    GitHub records an environment's deployment under the sha of the run that started the workflow: a
    rollback run, started from main, records main's head while it deploys an older ref, so only a push
    run of deploy.yml counts."""
    deployments = get(f"/repos/{repository}/deployments?sha={sha}&environment={environment}&per_page=100")
    for deployment in deployments:
        statuses = get(f"/repos/{repository}/deployments/{deployment['id']}/statuses?per_page=100")
        for status in statuses:
            run = RUN_URL.search(str(status.get("log_url") or status.get("target_url") or ""))
            if status.get("state") != "success" or run is None:
                continue
            details = get(f"/repos/{repository}/actions/runs/{run[1]}")
            if (
                details.get("event") == "push"
                and details.get("head_sha") == sha
                and str(details.get("path", "")).endswith(".github/workflows/deploy.yml")
            ):
                return True
    return False


def head_commit(root: Path = REPO_ROOT) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, read-only
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def is_on(ref: str, root: Path = REPO_ROOT) -> bool:
    done = subprocess.run(  # noqa: S603 - a fixed git command; ref is an argument, never a shell
        ["git", "merge-base", "--is-ancestor", "HEAD", ref],  # noqa: S607 - git from PATH, read-only
        cwd=root,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tag")
    parser.add_argument("--main-ref", default="origin/main")
    parser.add_argument("--deployed-to", help="a GitHub environment the commit must have been deployed to")
    args = parser.parse_args(argv)
    deployed = True
    if args.deployed_to:
        deployed = deployed_to(args.deployed_to, head_commit(), os.environ["GITHUB_REPOSITORY"])
    found = problems(args.tag, __version__, CHANGELOG.read_text(), is_on(args.main_ref), deployed)
    for line in found:
        print(f"release check: {line}")
    if not found:
        where = f" and deployed to {args.deployed_to}" if args.deployed_to else ""
        print(f"release check: {args.tag} is release {__version__}, in the changelog, on main{where}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
