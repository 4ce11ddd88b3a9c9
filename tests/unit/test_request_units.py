"""The DynamoDB request units the cost model charges a turn: from the size of what each call moves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.count_aws_calls import request_units

REPO_ROOT = Path(__file__).resolve().parents[2]
MEASURE = """
import json
from scripts.count_aws_calls import FOLLOW_UP, count_turn_calls
(t,) = [t for t in count_turn_calls() if t.case == FOLLOW_UP]
print(json.dumps({"calls": t.before + t.after, "read_units": t.read_units, "write_units": t.write_units,
                  "log_bytes": t.log_bytes}))
"""

SMALL = {"pk": {"S": "CONV#a#s"}, "sk": {"S": "STATE"}}


def test_a_transaction_costs_two_units_per_kilobyte_of_each_item() -> None:
    big = {"Put": {"Item": {**SMALL, "text": {"S": "x" * 1500}}}}
    assert request_units("TransactWriteItems", {"TransactItems": [{"Put": {"Item": SMALL}}, big]}, {}) == (
        0.0,
        6.0,
    )


def test_a_read_costs_a_unit_per_4_kilobytes_and_half_when_eventually_consistent() -> None:
    params = {"RequestItems": {"t": {"Keys": [SMALL, SMALL, SMALL], "ConsistentRead": True}}}
    found = {"Responses": {"t": [{**SMALL, "recent": {"S": "y" * 5000}}]}}
    assert request_units("BatchGetItem", params, found) == (4.0, 0.0)  # 2 for the item, 1 per missing key
    params["RequestItems"]["t"]["ConsistentRead"] = False
    assert request_units("BatchGetItem", params, found) == (2.0, 0.0)


@pytest.mark.e2e  # in a process of its own: it runs moto and the handler with their own environment
def test_a_follow_up_turn_reads_and_writes_what_its_three_calls_move() -> None:
    measured = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    turn = json.loads(measured.stdout.strip().splitlines()[-1])

    assert turn["calls"] == 3
    assert turn["read_units"] > 0
    assert turn["write_units"] >= 8  # two transactions of at least two items each
    assert turn["log_bytes"] > 500  # the answered turn's line and its metrics


@pytest.mark.e2e  # synthesizes every stage, in a process of its own
def test_make_cost_prints_each_stages_table(tmp_path: Path) -> None:
    pytest.importorskip("aws_cdk")  # it synthesizes: make test runs it, the runtime venv has no CDK
    printed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "scripts.cost_model", "--stage", "dev", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    ).stdout

    assert "dev: per 1 million turns (USD, prices of 2026-11-01, us-east-1)" in printed
    for line in (
        "API Gateway REST requests",
        "Lambda (0.5 GB",
        "DynamoDB (",
        "infrastructure per 1 million turns",
    ):
        assert line in printed, line
    assert "dev: fixed a month, before any turn" in printed
