"""Refuse to deploy a stage that still carries a placeholder only meant for offline synth.

python -m scripts.check_deployable prod              # `make deploy` runs it first
python -m scripts.check_deployable prod --delivery   # `make deploy-delivery`: the GitHub repository too
"""

from __future__ import annotations

import sys

from stacks.config import STAGES


def main(argv: list[str]) -> int:
    delivery = argv[2:] == ["--delivery"]
    if len(argv) not in (2, 3) or argv[1] not in STAGES or (len(argv) == 3 and not delivery):
        print(
            f"usage: python -m scripts.check_deployable {{{','.join(STAGES)}}} [--delivery]", file=sys.stderr
        )
        return 2
    config = STAGES[argv[1]]
    problems = config.delivery_problems if delivery else config.deployable_problems
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
