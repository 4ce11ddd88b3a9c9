"""Why the chat API's findings do not apply, said once per construct with the reason a reviewer checks."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw

from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules


def acknowledge_stage(stage: apigw.Stage) -> None:
    uncached = (
        "Every answer is for one caller and one turn (replies, transcripts, job status) and most "
        "routes are POSTs; a stage cache would hand one client's answer to another. The handler keeps "
        "its own per-client answer cache in the encrypted table."
    )
    acknowledge_rules(
        stage, "APIGWCacheEnabledAndEncrypted", (NIST, HIPAA, PCI), uncached, checkov="CKV_AWS_120"
    )
    acknowledge_rules(
        stage,
        "APIGWSSLEnabled",
        (NIST, HIPAA, PCI),
        "Client certificates authenticate API Gateway to HTTP backends; every integration here is a "
        "Lambda proxy, which API Gateway invokes through the Lambda API, signed with IAM over TLS.",
    )


def acknowledge_cloudwatch_role(api: apigw.RestApi) -> None:
    acknowledge(
        api.node.find_child("CloudWatchRole"),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "API Gateway's account-level logging role; AWS maintains this service-role policy for "
        "exactly this purpose and API Gateway names the execution log groups itself.",
    )


def acknowledge_preflights(api: apigw.RestApi) -> None:
    for construct in api.node.find_all():
        if isinstance(construct, apigw.Method) and construct.http_method == "OPTIONS":
            for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                acknowledge(
                    construct,
                    rule,
                    f"OPTIONS {construct.resource.path} is the CORS preflight for the origins in config, "
                    "answered by API Gateway's mock integration; browsers send it without credentials "
                    "and it reaches no data.",
                )


def acknowledge_api_key_auth(method: apigw.Method, route: str, browser_twin: str | None) -> None:
    people = (
        f"people on the chat page use {browser_twin}, which carries the Cognito authorizer where the "
        "stage enables browser sign-in."
        if browser_twin
        else "it is for programs only (the chat page answers synchronously)."
    )
    acknowledge(
        method,
        "AwsSolutions-APIG4",
        f"{route} is for programs: a usage-plan API key (api_key_required) identifies and meters each "
        f"client and owns its sessions and jobs; {people}",
    )
    acknowledge(
        method,
        "AwsSolutions-COG4",
        f"{route} authenticates programs by usage-plan API key, with the client's throttle and quota; "
        f"{people}",
    )
