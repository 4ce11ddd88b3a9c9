"""Infrastructure code never imports from scripts/ or scan/: shared code lives where both can import it."""

from __future__ import annotations

import ast

from tests.infra.conftest import REPO_ROOT

FORBIDDEN = ("scripts", "scan", "tests")


def _imports(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / path).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_stacks_and_the_app_import_nothing_from_scripts_scan_or_tests() -> None:
    files = ["app.py", *(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "stacks").rglob("*.py"))]
    assert len(files) > 10
    for path in files:
        assert not _imports(path) & set(FORBIDDEN), path
