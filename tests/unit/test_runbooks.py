"""The runbooks stay true of the code: every page is listed and has its sections, and every command they
give names a script, an option and a make target that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO_ROOT / "docs" / "runbooks"
PAGES = sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
MAKE_TARGETS = set(re.findall(r"^([a-z][\w-]*):", (REPO_ROOT / "Makefile").read_text(), re.M))


def test_every_page_is_in_the_index_and_every_link_resolves() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    listed = set(re.findall(r"\]\(([\w-]+\.md)\)", index))
    assert listed == {p.name for p in PAGES}
    for page in [RUNBOOKS / "README.md", *PAGES]:
        for target in re.findall(r"\]\(([\w-]+\.md)\)", page.read_text()):
            assert (RUNBOOKS / target).exists(), f"{page.name} links {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_each_page_says_what_starts_it_what_to_do_and_what_to_tell_users(page: Path) -> None:
    text = page.read_text()
    assert "**Starts with:**" in text
    for heading in ("## First five minutes", "## Commands"):
        assert heading in text, heading
    assert re.search(r"^## (Recovered|Done) when", text, re.M)
    assert re.search(r"^## Message", text, re.M)


def _code(text: str) -> list[str]:
    """The lines of fenced blocks and the inline code spans of a page, comments cut off."""
    fenced = [line for block in re.findall(r"```\w*\n(.*?)```", text, re.S) for line in block.splitlines()]
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [line.split("#")[0].strip() for line in fenced + spans]


def _commands() -> list[tuple[str, str]]:
    """(page, command) for every `python -m scripts.…` and `make …` the runbooks give."""
    return [
        (page.name, command.strip())
        for page in [RUNBOOKS / "README.md", *PAGES]
        for code in _code(page.read_text())
        for command in re.findall(r"(?:python -m scripts\.\w+|make [a-z-]+)[^&|]*", code)
    ]


SUBCOMMANDS = r"(?<=\s)(kill-switch|provider|tier-budget|show|list|export|erase|restore|copy-back)(?=\s|$)"


@pytest.mark.parametrize(("page", "command"), _commands())
def test_every_command_names_a_script_its_options_and_make_targets_that_exist(
    page: str, command: str
) -> None:
    if command.startswith("make "):
        target = command.split()[1]
        assert target in MAKE_TARGETS, f"{page}: make {target}"
        return
    module = command.split()[2].removeprefix("scripts.")
    script = REPO_ROOT / "scripts" / f"{module}.py"
    assert script.exists(), f"{page}: {module}"
    source = script.read_text()
    for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", command):
        assert f'"{option}"' in source, f"{page}: {module} has no {option}"
    for word in re.findall(
        r"(?<=\s)(kill-switch|provider|tier-budget|show|list|export|erase|restore|copy-back)(?=\s|$)", command
    ):
        assert f'"{word}"' in source, f"{page}: {module} has no command {word}"
