"""The app as `make synth` builds it, for the scanners: every stage, with cdk.json's feature flags."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from scan import REPO_ROOT
from stacks.config import STAGES, resolve_environment
from stacks.stage import ChatbotStage, build_stages


def cdk_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@dataclass(frozen=True)
class StageTemplates:
    stage: ChatbotStage
    regions: dict[Path, str]  # template file -> the region it deploys to

    @property
    def paths(self) -> list[Path]:
        return list(self.regions)

    @property
    def resource_count(self) -> int:
        return sum(
            1
            for path in self.paths
            for resource in json.loads(path.read_text()).get("Resources", {}).values()
            if resource["Type"] != "AWS::CDK::Metadata"
        )


def build(outdir: Path | None = None) -> dict[str, ChatbotStage]:
    """Every stage, without cdk-nag plugins (the scan calls the packs itself and reports, not raises)."""
    app = cdk.App(
        context=cdk_context(),
        outdir=str(outdir) if outdir else None,
        # The schema validator is `make synth`'s gate (scan.synth_report); cfn-lint covers the same here.
        builtin_cloud_formation_validation=False,
    )
    return build_stages(app, (resolve_environment(config) for config in STAGES.values()))


def synthesize(out: Path) -> dict[str, StageTemplates]:
    if out.exists():
        shutil.rmtree(out)
    stages = build(out)
    app = next(iter(stages.values())).node.root
    assert isinstance(app, cdk.App)
    app.synth()
    return {
        name: StageTemplates(stage=stage, regions=template_regions(stage)) for name, stage in stages.items()
    }


def template_regions(stage: ChatbotStage) -> dict[Path, str]:
    """Every template of the stage (each stack's) and the region it deploys to."""
    return {Path(stage.outdir) / stack.template_file: stack.region for stack in stage.stacks}
