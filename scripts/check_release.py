"""Before a tag goes to prod: the tag names the release this commit is (lambda_src.__version__), the
changelog has a dated section for it, and the commit is on main (so it went through dev and staging).

    python -m scripts.check_release v0.2.0 [--main-ref origin/main]

Exits 0 when all hold, 1 with the reasons otherwise.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from lambda_src import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = REPO_ROOT / "CHANGELOG.md"
SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$", re.M)


def changelog_sections(text: str) -> dict[str, str | None]:
    """Version -> release date (None for a section without one, such as Unreleased)."""
    return {m["version"]: m["date"] for m in SECTION.finditer(text)}


def problems(tag: str, version: str, changelog: str, on_main: bool) -> list[str]:
    found = []
    if tag != f"v{version}":
        found.append(
            f"the tag {tag} is not v{version}, the version this commit holds (lambda_src/__init__.py)"
        )
    if not changelog_sections(changelog).get(version):
        found.append(f"CHANGELOG.md has no dated section for {version} (## [{version}] - YYYY-MM-DD)")
    if not on_main:
        found.append("the tagged commit is not on main: it has not been through dev and staging")
    return found


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
    args = parser.parse_args(argv)
    found = problems(args.tag, __version__, CHANGELOG.read_text(), is_on(args.main_ref))
    for line in found:
        print(f"release check: {line}")
    if not found:
        print(f"release check: {args.tag} is release {__version__}, in the changelog and on main")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
