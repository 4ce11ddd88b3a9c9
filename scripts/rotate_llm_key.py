"""Rotate the LLM provider's key: put the new value, wait out the functions' secret cache, run the smoke
test. The new key is read from standard input (a hidden prompt on a terminal), never from the command
line, where the shell history would keep it; no key is ever printed.

    python -m scripts.rotate_llm_key --stage prod                             # dry run: what is there
    python -m scripts.rotate_llm_key --stage prod --apply < new-key.txt
    python -m scripts.rotate_llm_key --stage prod --provider openai --apply   # one entry of a JSON secret

The secret holds either one key for every provider, or JSON naming a key per provider ({"openai": ...,
"azure": ...}); --provider replaces that one entry and keeps the others. After the put it waits
SECRET_CACHE_SECONDS (every warm container has then read the new key), then runs scripts/smoke.py
against the stage. If the smoke test fails it prints the command that makes the previous version current
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
        keys = json.loads(current) if current.lstrip().startswith("{") else {}
    except ValueError:
        raise RefusedKey("the secret is not valid JSON; fix it by hand first") from None
    return json.dumps({**keys, provider: new_key})


def read_new_key(stdin: Any = sys.stdin) -> str:
    if stdin.isatty():
        return getpass.getpass("new LLM key (not shown): ").strip()
    return str(stdin.readline()).strip()


def run_smoke(stage: str) -> bool:
    from scripts import smoke

    return smoke.main(["--stage", stage]) == 0


def main(
    argv: list[str] | None = None,
    *,
    session: Any = None,
    stdin: Any = sys.stdin,
    sleep: Callable[[float], None] = time.sleep,
    smoke: Callable[[str], bool] = run_smoke,
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

        session = boto3.Session(region_name=args.region or config.region)
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
    print(f"new version {new} is current; waiting {SECRET_CACHE_SECONDS} s for every container to read it")
    for waited in range(0, SECRET_CACHE_SECONDS, 60):
        sleep(min(60, SECRET_CACHE_SECONDS - waited))
    if smoke(args.stage):
        print("rotated: the smoke test passed with the new key; now revoke the old one at the provider")
        return 0
    print(
        "smoke test FAILED with the new key. To make the previous version current again:\n"
        f"  aws secretsmanager update-secret-version-stage --secret-id {arn} --version-stage AWSCURRENT "
        f"--move-to-version-id {previous} --remove-from-version-id {new}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
