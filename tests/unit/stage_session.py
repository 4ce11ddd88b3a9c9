"""A boto3 session as the operator scripts use it: moto's clients, and the stack outputs of a deployed
stage from a dictionary (moto's CloudFormation would need the templates deployed)."""

from __future__ import annotations

from typing import Any

import boto3

from tests.unit.conftest import REGION


class StageSession:
    def __init__(self, stage: str = "dev", **outputs: str) -> None:
        self.stage = stage
        self.outputs = outputs

    def client(self, service: str) -> Any:
        if service == "cloudformation":
            return self
        return boto3.client(service, region_name=REGION)

    def resource(self, service: str) -> Any:
        return boto3.resource(service, region_name=REGION)

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        assert StackName.startswith(f"{self.stage}-Chatbot"), StackName
        return {
            "Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]
        }
