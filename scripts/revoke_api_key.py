"""Revoke a client's API key: disable it and detach it from every usage plan. API Gateway refuses it with
403 within seconds; what the client stored (sessions, transcripts) stays until erased
(scripts/client_data.py).

    python -m scripts.revoke_api_key --stage prod --key-id <id>            # dry run: what would change
    python -m scripts.revoke_api_key --stage prod --key-id <id> --apply

The key is named by its id (the access log's apiKeyId, the issue_api_key output), never by its value,
and no value is ever printed. The stage's verification key is refused: the checks after each deploy use
it (revoke it by a redeploy instead). Needs AWS credentials for the stage; exits 1 on failure.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.issue_api_key import stage_outputs


@dataclass(frozen=True)
class KeyState:
    key_id: str
    name: str
    enabled: bool
    plans: list[str]  # usage plan ids


def key_state(apigateway: Any, key_id: str) -> KeyState:
    key = apigateway.get_api_key(apiKey=key_id, includeValue=False)
    plans = [p["id"] for p in apigateway.get_usage_plans(keyId=key_id).get("items", [])]
    return KeyState(key_id=key_id, name=str(key.get("name", "")), enabled=bool(key["enabled"]), plans=plans)


def revoke(apigateway: Any, state: KeyState) -> None:
    """Disabled first: from then on the key is refused, whatever else fails."""
    if state.enabled:
        apigateway.update_api_key(
            apiKey=state.key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )
    for plan in state.plans:
        apigateway.delete_usage_plan_key(usagePlanId=plan, keyId=state.key_id)


def main(argv: list[str] | None = None, *, session: Any = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    parser.add_argument("--key-id", required=True, help="the API key's id (never its value)")
    parser.add_argument("--apply", action="store_true", help="revoke (default: dry run)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region)
    apigateway = session.client("apigateway")
    try:
        outputs = stage_outputs(session.client("cloudformation"), args.stage)
        if args.key_id == outputs.get("VerificationApiKeyId"):
            print(
                "refused: this is the stage's verification key, which the deploy checks use", file=sys.stderr
            )
            return 2
        state = key_state(apigateway, args.key_id)
        plans = ", ".join(state.plans) or "none"
        print(
            f"key {state.key_id} ({state.name}): {'enabled' if state.enabled else 'disabled'}; plans: {plans}"
        )
        if not state.enabled and not state.plans:
            print("already revoked: nothing to do")
            return 0
        if not args.apply:
            print("dry run: would disable it and detach it from every plan (add --apply)")
            return 0
        revoke(apigateway, state)
        after = key_state(apigateway, args.key_id)
    except (ClientError, BotoCoreError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    if after.enabled or after.plans:
        print(f"failed: key {after.key_id} is still enabled or on plans {after.plans}", file=sys.stderr)
        return 1
    print(f"revoked: key {after.key_id} is disabled and on no usage plan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
