"""`make scan`: every template of every stage through cfn-lint, checkov and cdk-nag's five packs.

Prints, per stage, cfn-lint findings by severity, checkov's failed, skipped and passed checks, and each
nag pack's raw and unacknowledged counts; then every finding that is not answered. Exits 1 if there is
one, so CI fails.

    python -m scan [--out cdk.out.scan]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scan import REPO_ROOT
from scan.cfn_lint_gate import LintFinding, lint_template, load_allowances
from scan.checkov_gate import CheckovResult, scan_templates
from scan.nag_gate import NagFinding, findings, pack_name
from scan.synthesis import StageTemplates, build, synthesize
from stacks.nag import NAG_PACKS, acknowledgements_suspended


@dataclass
class StageScan:
    name: str
    templates: StageTemplates
    lint: list[LintFinding] = field(default_factory=list)
    checkov: CheckovResult = field(default_factory=CheckovResult)
    nag_open: list[NagFinding] = field(default_factory=list)
    nag_raw: list[NagFinding] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        lines = [f"cfn-lint {finding}" for finding in self.lint if finding.blocking]
        lines += [f"checkov {line}" for line in self.checkov.problems]
        lines += [f"cdk-nag {finding}" for finding in self.nag_open]
        return lines

    def summary(self) -> str:
        severities = Counter(f.severity for f in self.lint)
        allowed = sum(1 for f in self.lint if f.allowed_by is not None)
        raw, open_ = Counter(f.pack for f in self.nag_raw), Counter(f.pack for f in self.nag_open)
        packs = "\n".join(
            f"    {pack_name(p):22} raw {raw[pack_name(p)]:3}   unacknowledged {open_[pack_name(p)]}"
            for p in NAG_PACKS
        )
        skips_without_reason = len(self.checkov.unexplained_skips)
        return (
            f"{self.name}: {len(self.templates.paths)} templates, {self.templates.resource_count} resources\n"
            f"  cfn-lint   errors {severities['error']}   warnings {severities['warning']} "
            f"({allowed} allowed with a reason)   informational {severities['informational']}\n"
            f"  checkov    failed {len(self.checkov.failed)}   skipped {len(self.checkov.skipped)} "
            f"({skips_without_reason} without a reason)   passed {self.checkov.passed}\n"
            f"  cdk-nag\n{packs}"
        )


def scan(out: Path) -> list[StageScan]:
    allowances = load_allowances()
    app_stages = synthesize(out)
    with acknowledgements_suspended():
        raw_stages = build()
    results = []
    for name, templates in app_stages.items():
        result = StageScan(name=name, templates=templates)
        for path, region in templates.regions.items():
            result.lint += lint_template(path.name, path.read_text(), region=region, allowances=allowances)
        result.checkov = scan_templates(templates.paths)
        result.nag_open = findings(templates.stage)
        result.nag_raw = findings(raw_stages[name])
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "cdk.out.scan")
    args = parser.parse_args(argv)
    results = scan(args.out)
    print(
        f"cfn-lint {importlib.metadata.version('cfn-lint')}, checkov {results[0].checkov.version}, "
        f"cdk-nag {importlib.metadata.version('cdk-nag')}\n"
    )
    for result in results:
        print(result.summary())
    problems = [(r.name, line) for r in results for line in r.problems]
    used = {f.allowed_by for r in results for f in r.lint if f.allowed_by is not None}
    problems += [
        ("all", f"cfn-lint allowance {a.rule} on {a.resource_type} matches nothing any more: remove it")
        for a in load_allowances()
        if a not in used
    ]
    if problems:
        print(f"\n{len(problems)} finding(s) not fixed, allowed, skipped or acknowledged with a reason:")
        for stage, line in problems:
            print(f"  {stage}: {line}")
        return 1
    print("\nno unanswered finding in any stage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
