"""Which release a synth deploys, and from which commit.

The release is ``lambda_src.__version__``; a release is cut by bumping it with a CHANGELOG.md section and
tagging the commit ``v<version>``, and the deploy workflow takes a tag to prod only when the tag, the
version and the changelog agree and the commit is on main (scripts/check_release.py). The release goes
into /health (BUILD_ID), each function's description and the dashboard; the commit only into the
dashboard and the service stack's ``Release`` output, which cost nothing to change: a function's
description or environment that changed with every commit would publish a new version, and start a
canary deployment, on every deploy.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lambda_src import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Release:
    version: str
    commit: str  # 12 hex digits, or "unknown" outside a git checkout

    @property
    def label(self) -> str:
        return f"{self.version} (commit {self.commit})"


def current_commit(root: Path = REPO_ROOT) -> str:
    """The checkout's HEAD (what is being deployed: a rollback checks out an older ref than the commit that
    started the workflow), else GITHUB_SHA, else "unknown"."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, read-only
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = os.environ.get("GITHUB_SHA", "").strip()
    return sha[:12] if re.fullmatch(r"[0-9a-f]{12,40}", sha) else "unknown"


def current_release(root: Path = REPO_ROOT) -> Release:
    if not SEMVER.match(__version__):
        raise ValueError(f"lambda_src.__version__ {__version__!r} is not a semantic version")
    return Release(__version__, current_commit(root))
