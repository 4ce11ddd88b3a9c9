"""The REST API: key-protected /chat with a validated body, logs, tracing and WAF (usage plans and
keys: test_api_keys.py)."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Match

from scripts import dev_gateway
from stacks.constructs.chat_api import STAGE_NAME
from stacks.constructs.regional_waf import MANAGED_RULE_GROUPS
from tests.infra.conftest import (
    SynthesizedStage,
    only_resource,
)


def _resource_id(stage: SynthesizedStage, path: str) -> str:
    """The logical id of the API resource at ``path`` (e.g. "/chat", "/web/conversations/{sessionId}")."""
    api_id, _ = only_resource(stage.service, "AWS::ApiGateway::RestApi")
    parent: dict = {"Fn::GetAtt": [api_id, "RootResourceId"]}
    resource_id = ""
    for part in path.strip("/").split("/"):
        (resource_id,) = stage.service.find_resources(
            "AWS::ApiGateway::Resource", {"Properties": {"PathPart": part, "ParentId": parent}}
        )
        parent = {"Ref": resource_id}
    return resource_id


def _method(stage: SynthesizedStage, http_method: str, path_part: str) -> dict:
    resource_id = _resource_id(stage, "/" + path_part)
    methods = stage.service.find_resources(
        "AWS::ApiGateway::Method",
        {"Properties": {"HttpMethod": http_method, "ResourceId": {"Ref": resource_id}}},
    )
    (method,) = methods.values()
    return method["Properties"]


def _stage(stage: SynthesizedStage) -> tuple[str, dict]:
    stage_id, resource = only_resource(stage.service, "AWS::ApiGateway::Stage")
    return stage_id, resource["Properties"]


def test_chat_requires_an_api_key_and_a_validated_json_body(stage: SynthesizedStage) -> None:
    method = _method(stage, "POST", "chat")
    assert method["ApiKeyRequired"] is True
    # "$default": validated whatever the Content-Type (a text/plain body would otherwise skip the model)
    assert set(method["RequestModels"]) == {"$default"}
    validator_id = method["RequestValidatorId"]["Ref"]
    validator = stage.service.to_json()["Resources"][validator_id]["Properties"]
    assert validator["ValidateRequestBody"] is True


def test_every_route_that_takes_a_body_validates_it_whatever_the_content_type(
    stage: SynthesizedStage,
) -> None:
    posts = stage.service.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "POST"}})
    # /chat, /chat/stream, /chat/jobs, feedback; /web/chat, /web/chat/stream, /web/ feedback
    assert len(posts) == (7 if stage.config.browser_sign_in else 4)
    for method in posts.values():
        assert method["Properties"]["RequestModels"].keys() == {"$default"}
        assert "RequestValidatorId" in method["Properties"]


def test_health_is_open_and_reaches_the_same_function(stage: SynthesizedStage) -> None:
    health = _method(stage, "GET", "health")
    chat = _method(stage, "POST", "chat")
    assert health.get("ApiKeyRequired") in (None, False)
    assert health["Integration"]["Uri"] == chat["Integration"]["Uri"]
    assert chat["Integration"]["Type"] == "AWS_PROXY"


def test_chat_model_bounds_the_message_and_the_session_id(stage: SynthesizedStage) -> None:
    (model,) = [
        m
        for m in stage.service.find_resources("AWS::ApiGateway::Model").values()
        if m["Properties"]["Schema"]["title"] == "ChatRequest"
    ]
    schema = model["Properties"]["Schema"]
    assert schema["required"] == ["sessionId", "message"]
    assert schema["additionalProperties"] is False
    # The gateway may count UTF-16 units (an emoji is two): it allows twice the limit, and the handler
    # enforces the exact limit in code points, on what it stores.
    assert schema["properties"]["message"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 2 * stage.config.max_message_chars,
    }
    assert schema["properties"]["sessionId"]["pattern"] == "^[A-Za-z0-9_-]{8,128}$"


def _render(template: str) -> dict:
    """What API Gateway sends: $context variables substituted as they are (no VTL is evaluated)."""
    return json.loads(template.replace("$context.error.messageString", '"Invalid request body"'))


def test_gateway_errors_are_json_that_never_quote_the_request(stage: SynthesizedStage) -> None:
    responses = stage.service.find_resources("AWS::ApiGateway::GatewayResponse")
    templates = {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"]["application/json"]
        for r in responses.values()
    }
    assert set(templates) == {
        "BAD_REQUEST_BODY",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "MISSING_AUTHENTICATION_TOKEN",
    }
    for template in templates.values():
        assert "validationErrorString" not in template
        assert "$util" not in template
        _render(template)
    bad_body = _render(templates["BAD_REQUEST_BODY"])
    assert "sessionId" in bad_body["details"]
    assert "message" in bad_body["details"]


def test_an_unrouted_method_or_path_is_a_json_404_as_in_make_dev(stage: SynthesizedStage) -> None:
    """API Gateway's answer for a method or path it does not know is a 403 "Missing Authentication
    Token" unless told otherwise; here it is a 404 that says so, the same as the dev server's."""
    (response,) = stage.service.find_resources(
        "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": "MISSING_AUTHENTICATION_TOKEN"}}
    ).values()
    assert response["Properties"]["StatusCode"] == "404"
    body = json.loads(response["Properties"]["ResponseTemplates"]["application/json"])
    assert body == {"message": dev_gateway.NO_ROUTE_MESSAGE}


def test_the_dev_servers_routes_are_the_deployed_apis(synthesized: dict[str, SynthesizedStage]) -> None:
    """scripts/dev_gateway.py routes `make dev`'s requests; a route added to the API must be added there."""
    stage = next(s for s in synthesized.values() if s.config.browser_sign_in)
    template = stage.service.to_json()["Resources"]
    paths = {
        rid: _path_of(template, rid)
        for rid, r in template.items()
        if r["Type"] == "AWS::ApiGateway::Resource"
    }
    deployed: dict[str, set[tuple[str, str]]] = {}
    for method in stage.service.find_resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS" or "Ref" not in props["ResourceId"]:
            continue
        caller = (
            dev_gateway.KEY
            if props.get("ApiKeyRequired")
            else dev_gateway.USER
            if props.get("AuthorizationType") == "COGNITO_USER_POOLS"
            else dev_gateway.ANYONE
        )
        deployed.setdefault(paths[props["ResourceId"]["Ref"]], set()).add((props["HttpMethod"], caller))
    assert deployed == {
        resource: {(verb, caller) for verb in methods} for resource, methods, caller in dev_gateway.ROUTES
    }


def _path_of(template: dict, resource_id: str) -> str:
    resource = template[resource_id]["Properties"]
    parent = resource["ParentId"]
    prefix = _path_of(template, parent["Ref"]) if "Ref" in parent else ""
    return f"{prefix}/{resource['PathPart']}"


def test_stage_throttles_logs_without_bodies_and_traces(stage: SynthesizedStage) -> None:
    _, props = _stage(stage)
    assert props["StageName"] == STAGE_NAME
    assert props["TracingEnabled"] is True
    settings = {(m["ResourcePath"], m["HttpMethod"]): m for m in props["MethodSettings"]}
    assert set(settings) == {("/*", "*"), ("/~1health", "GET"), ("/~1health~1deep", "GET")}
    everything = settings[("/*", "*")]
    assert everything["ThrottlingRateLimit"] == stage.config.stage_throttle.rate_limit
    assert everything["ThrottlingBurstLimit"] == stage.config.stage_throttle.burst_limit
    for probe in (("/~1health", "GET"), ("/~1health~1deep", "GET")):  # the probes' own throttle
        assert settings[probe]["ThrottlingRateLimit"] == stage.config.health_throttle.rate_limit
        assert settings[probe]["ThrottlingBurstLimit"] == stage.config.health_throttle.burst_limit
    for one in settings.values():  # the health override keeps the stage's logging and metrics
        assert one["LoggingLevel"] == stage.config.api_execution_log_level.value
        assert one["DataTraceEnabled"] is False
        assert one["MetricsEnabled"] is True


def test_the_open_health_route_cannot_invoke_lambda_faster_than_its_own_throttle(
    stage: SynthesizedStage,
) -> None:
    """GET /health needs no key: however many addresses call it, API Gateway caps it before Lambda."""
    _, props = _stage(stage)
    (health,) = [m for m in props["MethodSettings"] if m["ResourcePath"] == "/~1health"]
    assert health["HttpMethod"] == "GET"
    assert health["ThrottlingRateLimit"] == stage.config.health_throttle.rate_limit
    assert health["ThrottlingBurstLimit"] == stage.config.health_throttle.burst_limit
    assert health["ThrottlingRateLimit"] <= 10


def test_execution_logs_have_a_retention_and_no_request_details(stage: SynthesizedStage) -> None:
    _, props = _stage(stage)
    assert {m["LoggingLevel"] for m in props["MethodSettings"]} == {"ERROR"}
    groups = stage.service.find_resources(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": {"Fn::Join": ["", Match.array_with(["API-Gateway-Execution-Logs_"])]}
            }
        },
    )
    (group,) = groups.values()
    assert group["Properties"]["RetentionInDays"] == stage.config.log_retention_days
    assert json.dumps(group["Properties"]["LogGroupName"]).endswith(f'"/{STAGE_NAME}"]]}}')


def test_access_log_is_one_json_object_per_request(stage: SynthesizedStage) -> None:
    _, props = _stage(stage)
    fields = json.loads(props["AccessLogSetting"]["Format"])
    for field in ("requestId", "ip", "apiKeyId", "status", "responseLatency", "integrationLatency"):
        assert field in fields
    assert "ApiAccessLogs" in json.dumps(props["AccessLogSetting"]["DestinationArn"])


def test_regional_waf_admits_only_cloudfront_and_runs_the_managed_baseline(stage: SynthesizedStage) -> None:
    stage_id, _ = _stage(stage)
    acl_id, acl = only_resource(stage.service, "AWS::WAFv2::WebACL")
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    first = min(props["Rules"], key=lambda r: r["Priority"])
    assert first["Name"] == "RequireCloudFrontOriginHeader"
    assert first["Action"] == {"Block": {}}
    match = first["Statement"]["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": "x-origin-verify"}}
    assert "{{resolve:secretsmanager:" in json.dumps(match["SearchString"])
    managed = [
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in props["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    ]
    assert sorted(managed) == sorted(MANAGED_RULE_GROUPS)
    (common,) = [
        r["Statement"]["ManagedRuleGroupStatement"]
        for r in props["Rules"]
        if r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesCommonRuleSet"
    ]
    counted = {o["Name"] for o in common["RuleActionOverrides"] if o["ActionToUse"] == {"Count": {}}}
    assert {"CrossSiteScripting_BODY", "GenericLFI_BODY", "GenericRFI_BODY"} <= counted
    # Behind CloudFront every request comes from an edge address: per-IP limits live at the edge.
    assert not any("RateBasedStatement" in r["Statement"] for r in props["Rules"])
    _, association = only_resource(stage.service, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert stage_id in json.dumps(association["Properties"]["ResourceArn"])


# What the WAFv2 API accepts as a Description (AWS::WAFv2::WebACL); anything else fails the deploy.
WAFV2_DESCRIPTION = re.compile(r"^[\w+=:#@/\-,.][\w+=:#@/\-,.\s]+[\w+=:#@/\-,.]$")


def test_the_regional_web_acl_description_is_one_wafv2_accepts(stage: SynthesizedStage) -> None:
    _, acl = only_resource(stage.service, "AWS::WAFv2::WebACL")
    description = acl["Properties"]["Description"]
    assert WAFV2_DESCRIPTION.match(description), description
    assert f"generation {stage.config.origin_verify_generation}" in description


def test_conversation_routes_require_an_api_key(stage: SynthesizedStage) -> None:
    resource_id = _resource_id(stage, "/conversations/{sessionId}")
    methods = stage.service.find_resources(
        "AWS::ApiGateway::Method", {"Properties": {"ResourceId": {"Ref": resource_id}}}
    )
    assert sorted(m["Properties"]["HttpMethod"] for m in methods.values()) == ["DELETE", "GET"]
    for method in methods.values():
        assert method["Properties"]["ApiKeyRequired"] is True
        assert method["Properties"]["RequestParameters"] == {"method.request.path.sessionId": True}


def test_the_session_list_requires_an_api_key_and_takes_only_limit_and_cursor(
    stage: SynthesizedStage,
) -> None:
    resource_id = _resource_id(stage, "/conversations")
    (method,) = stage.service.find_resources(
        "AWS::ApiGateway::Method", {"Properties": {"ResourceId": {"Ref": resource_id}, "HttpMethod": "GET"}}
    ).values()
    assert method["Properties"]["ApiKeyRequired"] is True
    assert method["Properties"]["RequestParameters"] == {
        "method.request.querystring.limit": False,
        "method.request.querystring.cursor": False,
    }
    assert "RequestValidatorId" in method["Properties"]


def test_browser_routes_exist_only_with_sign_in_and_require_a_cognito_user(stage: SynthesizedStage) -> None:
    web = stage.service.find_resources("AWS::ApiGateway::Resource", {"Properties": {"PathPart": "web"}})
    if not stage.config.browser_sign_in:
        assert web == {}
        stage.service.resource_count_is("AWS::ApiGateway::Authorizer", 0)
        return
    (authorizer_id, authorizer) = only_resource(stage.service, "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert "UsersUserPool" in json.dumps(authorizer["Properties"]["ProviderARNs"])
    for path, verbs in (
        ("/web/chat", {"POST"}),
        ("/web/conversations", {"GET"}),
        ("/web/conversations/{sessionId}", {"GET", "DELETE"}),
    ):
        resource_id = _resource_id(stage, path)
        methods = stage.service.find_resources(
            "AWS::ApiGateway::Method", {"Properties": {"ResourceId": {"Ref": resource_id}}}
        )
        assert {m["Properties"]["HttpMethod"] for m in methods.values()} == verbs
        for method in methods.values():
            assert method["Properties"]["AuthorizationType"] == "COGNITO_USER_POOLS"
            assert method["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}
            assert method["Properties"].get("ApiKeyRequired") in (None, False)


def test_the_deep_health_probe_needs_a_key_and_reaches_the_chat_function(stage: SynthesizedStage) -> None:
    deep = _method(stage, "GET", "health/deep")
    chat = _method(stage, "POST", "chat")
    assert deep["ApiKeyRequired"] is True
    assert deep["Integration"]["Uri"] == chat["Integration"]["Uri"]


def test_feedback_routes_validate_their_body_and_need_a_key_or_a_user(stage: SynthesizedStage) -> None:
    (model,) = [
        m
        for m in stage.service.find_resources("AWS::ApiGateway::Model").values()
        if m["Properties"]["Schema"]["title"] == "FeedbackRequest"
    ]
    schema = model["Properties"]["Schema"]
    assert schema["required"] == ["rating"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["rating"]["enum"] == ["up", "down"]
    assert schema["properties"]["comment"]["maxLength"] == 1000  # 500 code points, as UTF-16 at most
    resources = stage.service.to_json()["Resources"]
    feedback = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method"
        and r["Properties"]["HttpMethod"] == "POST"
        and resources[r["Properties"]["ResourceId"]["Ref"]]["Properties"]["PathPart"] == "feedback"
    ]
    assert len(feedback) == (2 if stage.config.browser_sign_in else 1)
    for method in feedback:
        assert method.get("ApiKeyRequired") is True or method["AuthorizationType"] == "COGNITO_USER_POOLS"
