"""mypy reads only the aws-cdk-lib modules this project imports (pyproject.toml): a module imported but
missing from that list would silently become Any."""

from __future__ import annotations

import re
import tomllib

from tests.infra.conftest import REPO_ROOT

SOURCES = ("app.py", "stacks", "scan", "scripts", "tests", "lambda_src")
IMPORTED = re.compile(r"from aws_cdk import ([a-z_0-9]+)|(?:import|from) (aws_cdk\.[a-z_0-9]+)")


def test_every_aws_cdk_module_the_project_imports_is_type_checked() -> None:
    imported = set()
    for source in SOURCES:
        path = REPO_ROOT / source
        for file in [path] if path.is_file() else path.rglob("*.py"):
            for module, dotted in IMPORTED.findall(file.read_text()):
                imported.add(f"aws_cdk.{module}" if module else dotted)
    overrides = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    skipped = [o for o in overrides if o.get("follow_imports") == "skip"]
    followed = {m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]}
    assert [o["module"] for o in skipped] == [["aws_cdk.*"]]
    assert "aws_cdk" in followed
    assert imported
    assert sorted(imported - followed) == []
