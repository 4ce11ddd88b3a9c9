"""Refuse to deploy a stage that still carries a placeholder only meant for offline synth.

python -m scripts.check_deployable prod      # `make deploy` runs it first
"""

from __future__ import annotations

import sys

from stacks.config import STAGES


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in STAGES:
        print(f"usage: python -m scripts.check_deployable {{{','.join(STAGES)}}}", file=sys.stderr)
        return 2
    problems = STAGES[argv[1]].deployable_problems
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
