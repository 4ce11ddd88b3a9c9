"""Every stage is synthesized once per session; tests share the templates and the app."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.config import STAGES, StageConfig
from stacks.stage import ChatbotStage, build_stages

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE_NAMES = tuple(STAGES)


def cdk_context() -> dict[str, object]:
    """The feature flags of cdk.json, so tests synthesize exactly what `make synth` does."""
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@dataclass(frozen=True)
class SynthesizedStage:
    config: StageConfig
    stage: ChatbotStage
    data: Template
    service: Template
    edge: Template
    web: Template
    delivery: Template
    edge_watch: Template

    @property
    def templates(self) -> dict[str, Any]:
        return {
            "data": self.data.to_json(),
            "service": self.service.to_json(),
            "edge": self.edge.to_json(),
            "web": self.web.to_json(),
            "delivery": self.delivery.to_json(),
            "edge_watch": self.edge_watch.to_json(),
        }

    @classmethod
    def of(cls, config: StageConfig, stage: ChatbotStage) -> SynthesizedStage:
        return cls(
            config=config,
            stage=stage,
            data=Template.from_stack(stage.data),
            service=Template.from_stack(stage.service),
            edge=Template.from_stack(stage.edge),
            web=Template.from_stack(stage.web),
            delivery=Template.from_stack(stage.delivery),
            edge_watch=Template.from_stack(stage.edge_watch),
        )


@pytest.fixture(scope="session")
def app() -> cdk.App:
    # The built-in CloudFormation validator runs in `make synth`; here it would only add seconds.
    return cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)


@pytest.fixture(scope="session")
def synthesized(app: cdk.App) -> dict[str, SynthesizedStage]:
    stages = build_stages(app, STAGES.values())
    return {name: SynthesizedStage.of(STAGES[name], stage) for name, stage in stages.items()}


@pytest.fixture(params=STAGE_NAMES)
def stage(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedStage]) -> SynthesizedStage:
    return synthesized[request.param]


def only_resource(template: Template, resource_type: str) -> tuple[str, Any]:
    found = template.find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


CHAT_HANDLER = "lambda_src.handlers.chat.handler"
WORKER_HANDLER = "lambda_src.handlers.worker.handler"


def function_with_handler(template: Template | dict[str, Any], handler: str) -> tuple[str, Any]:
    resources = template.to_json()["Resources"] if isinstance(template, Template) else template["Resources"]
    (found,) = [
        (lid, r)
        for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    return found


def role_statements(template: Template | dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """The IAM statements attached to the role of the function with this handler."""
    resources = template.to_json()["Resources"] if isinstance(template, Template) else template["Resources"]
    _, function = function_with_handler(template, handler)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
