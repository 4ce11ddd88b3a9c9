"""Rotate the LLM provider's key: put the new value, wait out the functions' secret cache, run the smoke
test. The new key is read from standard input (a hidden prompt on a terminal), never from the command
line, where the shell history would keep it; no key is ever printed.

    python -m scripts.rotate_llm_key --stage prod                             # dry run: what is there
    python -m scripts.rotate_llm_key --stage prod --apply < new-key.txt
    python -m scripts.rotate_llm_key --stage prod --provider openai --apply   # one entry of a JSON secret

The secret holds either one key for every provider, or JSON naming a key per provider ({"openai": ...,
"azure": ...}); --provider replaces that one entry and keeps the others (a shared key becomes their
"apiKey" fallback). After the put it waits out the functions' secret cache (every warm container has then
read the new key), asks the stage's GET /api/health/deep whether each rotated provider answers with it
(a chat turn would not tell: it fails over to another provider, or comes from the answer cache), then
runs scripts/smoke.py. If either fails it prints the command that makes the previous version current
again, and exits 1. Revoke the old key at the provider only after it passes.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.dependencies import SECRET_CACHE_SECONDS
from scripts.issue_api_key import stage_outputs
from stacks.config import STAGES

MIN_KEY_LENGTH = 8


class RefusedKey(ValueError):
    """The new value cannot be a provider key, or the stage has no key to rotate."""


def new_secret_string(current: str, new_key: str, provider: str | None) -> str:
    """The secret's next value: the new key, or the JSON with one provider's entry replaced."""
    if len(new_key) < MIN_KEY_LENGTH or any(c.isspace() for c in new_key):
        raise RefusedKey(f"a key is at least {MIN_KEY_LENGTH} characters without spaces or line breaks")
    if provider is None:
        if current.lstrip().startswith("{"):
            raise RefusedKey("the secret names a key per provider: say which with --provider")
        return new_key
    try:
        # One shared key becomes the fallback entry, so the other providers keep it.
        keys = json.loads(current) if current.lstrip().startswith("{") else {"apiKey": current.strip()}
    except ValueError:
        raise RefusedKey("the secret is not valid JSON; fix it by hand first") from None
    return json.dumps({**keys, provider: new_key})


def read_new_key(stdin: Any = sys.stdin) -> str:
    if stdin.isatty():
        return getpass.getpass("new LLM key (not shown): ").strip()
    return str(stdin.readline()).strip()


# Past the functions' secret cache, and the deep health answer's own (30 s) after it.
WAIT_SECONDS = SECRET_CACHE_SECONDS + 30


def providers_ok(deep_health: dict[str, Any], providers: list[str]) -> bool:
    """Whether /health/deep says each rotated provider answers with the key it now reads. A turn would
    not tell: it fails over to another provider, or comes from the first-turn cache."""
    answers = deep_health.get("providers", {})
    return all(answers.get(name) == "ok" for name in providers)


def verify_stage(stage: str, region: str | None, providers: list[str]) -> bool:
    """GET /api/health/deep through CloudFront with the stage's verification key, then the smoke test."""
    import json
    import urllib.error
    import urllib.request

    from scripts import smoke

    base_url, api_key = smoke.stage_endpoint(stage, region)
    request = urllib.request.Request(  # noqa: S310 - the stage's own https URL
        f"{base_url}/api/health/deep", headers={"x-api-key": api_key, "User-Agent": "chatbot-rotate-llm-key"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            body = json.loads(answer.read())
    except urllib.error.HTTPError as refused:  # 503 still carries the parts
        body = json.loads(refused.read() or b"{}")
    print(f"deep health: providers {body.get('providers')}")
    arguments = ["--stage", stage, *(["--region", region] if region else [])]
    return providers_ok(body, providers) and smoke.main(arguments) == 0


def main(
    argv: list[str] | None = None,
    *,
    session: Any = None,
    stdin: Any = sys.stdin,
    sleep: Callable[[float], None] = time.sleep,
    verify: Callable[[str, str | None, list[str]], bool] = verify_stage,
) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=sorted(STAGES))
    parser.add_argument("--provider", help="replace this provider's entry of a JSON secret")
    parser.add_argument("--apply", action="store_true", help="put the new key (default: dry run)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    config = STAGES[args.stage]
    if not config.llm.needs_secret:
        print(
            f"refused: {args.stage}'s providers use no key (Bedrock authenticates with IAM)", file=sys.stderr
        )
        return 2
    if args.provider and args.provider not in [p.name for p in config.llm.providers]:
        print(f"refused: {args.provider!r} is not a provider of {args.stage}", file=sys.stderr)
        return 2
    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region)  # the caller's region (AWS_REGION), as every script
    secrets = session.client("secretsmanager")
    try:
        arn = stage_outputs(session.client("cloudformation"), args.stage)["LlmSecretArn"]
        current = secrets.get_secret_value(SecretId=arn)
        shape = "a key per provider" if current["SecretString"].lstrip().startswith("{") else "one key"
        print(f"secret {arn}: {shape}, current version {current['VersionId']}")
        if not args.apply:
            print("dry run: nothing changed (add --apply and give the new key on standard input)")
            return 0
        value = new_secret_string(current["SecretString"], read_new_key(stdin), args.provider)
        put = secrets.put_secret_value(SecretId=arn, SecretString=value)
    except RefusedKey as refusal:
        print(f"refused: {refusal}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    previous, new = current["VersionId"], put["VersionId"]
    print(f"new version {new} is current; waiting {WAIT_SECONDS} s for every container to read it")
    for waited in range(0, WAIT_SECONDS, 60):
        sleep(min(60, WAIT_SECONDS - waited))
    rotated = (
        [args.provider] if args.provider else [p.name for p in config.llm.providers if p.kind == "openai"]
    )
    try:
        passed = verify(args.stage, args.region, rotated)
    except Exception as error:  # whatever failed, the way back must be printed
        print(f"the check could not run: {type(error).__name__}", file=sys.stderr)
        passed = False
    if passed:
        print(
            f"rotated: {', '.join(rotated)} answer with the new key and the smoke test passed; now revoke "
            "the old key at the provider"
        )
        return 0
    print(
        "the new key did not pass (deep health or smoke test). To make the previous version current again:\n"
        f"  aws secretsmanager update-secret-version-stage --secret-id {arn} --version-stage AWSCURRENT "
        f"--move-to-version-id {previous} --remove-from-version-id {new}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
