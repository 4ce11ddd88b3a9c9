"""CORS on the API: off unless origins are configured, never '*' outside dev, preflight by API Gateway."""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.config import STAGES
from stacks.stage import build_stages
from tests.infra.conftest import CHAT_HANDLER, SynthesizedStage, cdk_context, function_with_handler
from tests.infra.test_nag import _acknowledgements, _findings


def test_no_preflight_routes_without_configured_origins(stage: SynthesizedStage) -> None:
    methods = stage.service.find_resources(
        "AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "OPTIONS"}}
    )
    assert methods == {}


@pytest.mark.parametrize("stage_name", ["staging", "prod"])
def test_any_origin_is_refused_outside_dev(stage_name: str) -> None:
    with pytest.raises(ValueError, match="only in dev"):
        dataclasses.replace(STAGES[stage_name], cors_allowed_origins=("*",))


def test_plain_http_origins_are_refused_outside_dev() -> None:
    with pytest.raises(ValueError, match="https://"):
        dataclasses.replace(STAGES["prod"], cors_allowed_origins=("http://app.example.com",))


def test_configured_origins_get_an_api_gateway_preflight_on_every_route() -> None:
    config = dataclasses.replace(STAGES["prod"], cors_allowed_origins=("https://app.example.com",))
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stage = build_stages(app, [config])["prod"]
    assert _findings(stage) == set()  # preflights are acknowledged, one by one, naming their route
    preflight_reasons = [
        r for c, _, r in _acknowledgements(stage) if getattr(c, "http_method", "") == "OPTIONS"
    ]
    assert any("OPTIONS /chat" in reason for reason in preflight_reasons)
    service = Template.from_stack(stage.service)
    options = service.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "OPTIONS"}})
    assert len(options) >= 4  # /chat, /conversations/{sessionId}, /health and their parents
    for method in options.values():
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "MOCK"
        headers = integration["IntegrationResponses"][0]["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"
        assert "x-api-key" in headers["method.response.header.Access-Control-Allow-Headers"]
    _, function = function_with_handler(service, CHAT_HANDLER)
    variables = function["Properties"]["Environment"]["Variables"]
    assert json.loads(variables["CORS_ALLOWED_ORIGINS"]) == ["https://app.example.com"]


def _api_behaviour_policy(web: Template) -> dict:
    (distribution,) = web.find_resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    policy_id = api["ResponseHeadersPolicyId"]["Ref"]
    return dict(web.to_json()["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"])


def test_every_api_answer_carries_cors_headers_for_listed_origins_gateway_errors_included() -> None:
    """API Gateway's own 400/403/429/5XX never reach the handler; CloudFront adds the headers for them,
    only when the request's Origin is one of the listed ones, and leaves the handler's own alone."""
    origins = ("https://app.example.com", "https://admin.example.com")
    config = dataclasses.replace(STAGES["prod"], cors_allowed_origins=origins)
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    web = Template.from_stack(build_stages(app, [config])["prod"].web)

    cors = _api_behaviour_policy(web)["CorsConfig"]

    assert cors["AccessControlAllowOrigins"]["Items"] == list(origins)
    assert cors["OriginOverride"] is False
    assert cors["AccessControlAllowCredentials"] is False
    assert {"Retry-After", "X-Quota-Tokens-Remaining"} <= set(cors["AccessControlExposeHeaders"]["Items"])
    assert "x-api-key" in cors["AccessControlAllowHeaders"]["Items"]


def test_without_listed_origins_the_api_answers_carry_no_cors_headers(stage: SynthesizedStage) -> None:
    assert "CorsConfig" not in _api_behaviour_policy(stage.web)
