"""Print every synthesized template with its resource count: `python scripts/synth_summary.py cdk.out`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarize(out_dir: Path) -> list[tuple[str, str, int]]:
    rows = []
    for template in sorted(out_dir.glob("assembly-*/*.template.json")):
        stage = template.parent.name.removeprefix("assembly-")
        resources = json.loads(template.read_text())["Resources"]
        count = sum(1 for r in resources.values() if r["Type"] != "AWS::CDK::Metadata")
        rows.append((stage, template.name.removesuffix(".template.json"), count))
    return rows


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    rows = summarize(out_dir)
    if not rows:
        print(f"no templates under {out_dir}", file=sys.stderr)
        return 1
    totals: Counter[str] = Counter()
    for stage, name, count in rows:
        totals[stage] += count
        print(f"{stage:8} {name:40} {count:4} resources")
    print("per stage: " + ", ".join(f"{stage} {total}" for stage, total in totals.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
