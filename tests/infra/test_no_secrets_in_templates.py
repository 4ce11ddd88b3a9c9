"""No secret value or key material may ever be written into a template."""

from __future__ import annotations

import json
import re

from tests.infra.conftest import SynthesizedStage

# Shapes of credentials that must never appear in CloudFormation.
SECRET_SHAPES = [
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style keys
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key ids
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._-]{16,}"),
]
FORBIDDEN_PROPERTIES = {
    "AWS::SecretsManager::Secret": {"SecretString"},
    "AWS::ApiGateway::ApiKey": {"Value"},
    "AWS::KMS::Key": {"KeyMaterial"},
}


def test_no_template_contains_credential_shaped_strings(stage: SynthesizedStage) -> None:
    for name, template in stage.templates.items():
        text = json.dumps(template)
        for shape in SECRET_SHAPES:
            assert not shape.search(text), f"{name} template matches {shape.pattern}"


def test_no_resource_carries_a_secret_value_property(stage: SynthesizedStage) -> None:
    for template in stage.templates.values():
        for logical_id, resource in template["Resources"].items():
            forbidden = FORBIDDEN_PROPERTIES.get(resource["Type"], set())
            assert not forbidden & set(resource.get("Properties", {})), logical_id


def test_templates_have_no_parameters_that_could_carry_a_secret(stage: SynthesizedStage) -> None:
    """CDK's BootstrapVersion, and the public SSM parameter naming the Powertools layer: nothing that a
    deployer passes in."""
    layer = f"/aws/service/powertools/python/arm64/python3.14/{stage.config.powertools_version}"
    for template in stage.templates.values():
        for name, parameter in template.get("Parameters", {}).items():
            if name == "BootstrapVersion":
                continue
            assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>", name
            assert parameter["Default"] == layer, name


def test_the_key_is_generated_inside_kms(stage: SynthesizedStage) -> None:
    for template in stage.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::KMS::Key":
                assert resource["Properties"].get("Origin", "AWS_KMS") == "AWS_KMS"
