"""Change a running stage without a deploy: the kill switch, a provider, a tier's daily token budget.
The chat, stream and worker functions read these within a minute (lambda_src/chat/controls.py).

    python -m scripts.controls --stage prod show
    python -m scripts.controls --stage prod kill-switch --on --reason "provider outage"        # dry run
    python -m scripts.controls --stage prod kill-switch --on --reason "provider outage" --apply
    python -m scripts.controls --stage prod kill-switch --off --apply
    python -m scripts.controls --stage prod provider openai --off --apply    # --on to bring it back
    python -m scripts.controls --stage prod tier-budget standard 20000 --apply   # --reset: config's

Every command but show is a dry run unless --apply: it prints the controls in force and what they would
become. A budget can only be lowered below the stage's config (raising one is a reviewed deploy), and
only the stage's configured providers and tiers are accepted. Needs AWS credentials for the stage; exits
non-zero when the parameter cannot be read or written.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.controls import CONTROLS_CACHE_SECONDS, RuntimeControls
from scripts.issue_api_key import stage_outputs
from stacks.config import STAGES, StageConfig


class RefusedChange(ValueError):
    """The change is not one this stage's config allows."""


def stage_parameter(cloudformation: Any, stage: str) -> str:
    return stage_outputs(cloudformation, stage)["RuntimeControlsParameter"]


def read_controls(ssm: Any, name: str) -> RuntimeControls:
    return RuntimeControls.model_validate_json(ssm.get_parameter(Name=name)["Parameter"]["Value"])


def write_controls(ssm: Any, name: str, controls: RuntimeControls) -> None:
    ssm.put_parameter(Name=name, Value=controls.to_json(), Type="String", Overwrite=True)


def changed(config: StageConfig, current: RuntimeControls, args: argparse.Namespace) -> RuntimeControls:
    """The controls after the command in ``args``; RefusedChange for one the stage does not allow."""
    fields = current.model_dump()
    if args.command == "kill-switch":
        if args.on and not args.reason:
            raise RefusedChange("say why with --reason: on-call and the next operator read it")
        fields.update(turns_paused=args.on, reason=args.reason if args.on else "")
    elif args.command == "provider":
        names = [p.name for p in config.llm.providers]
        if args.name not in names:
            raise RefusedChange(f"{args.name!r} is not a provider of {config.name} ({', '.join(names)})")
        disabled = set(current.disabled_providers)
        fields["disabled_providers"] = disabled | {args.name} if args.off else disabled - {args.name}
    elif args.command == "tier-budget":
        tiers = {t.name: t for t in config.tiers}
        if args.tier not in tiers:
            raise RefusedChange(f"{args.tier!r} is not a tier of {config.name} ({', '.join(tiers)})")
        budgets = dict(current.tier_daily_tokens)
        if args.reset:
            budgets.pop(args.tier, None)
        else:
            configured = tiers[args.tier].daily_tokens
            if not 0 < args.tokens < configured:
                raise RefusedChange(
                    f"a budget between 1 and {configured - 1:,} tokens (the tier's is {configured:,}); "
                    "raising one is a config change and a deploy"
                )
            budgets[args.tier] = args.tokens
        fields["tier_daily_tokens"] = budgets
    fields.update(changed_by=args.changed_by, changed_at=datetime.now(UTC).isoformat(timespec="seconds"))
    return RuntimeControls.model_validate(fields)


def describe(controls: RuntimeControls) -> str:
    paused = f"ON ({controls.reason})" if controls.turns_paused else "off"
    budgets = ", ".join(f"{t} {n:,} tokens/day" for t, n in sorted(controls.tier_daily_tokens.items()))
    lines = [
        f"  kill switch:         {paused}",
        f"  disabled providers:  {', '.join(sorted(controls.disabled_providers)) or 'none'}",
        f"  lowered budgets:     {budgets or 'none'}",
    ]
    if controls.changed_at:
        lines.append(f"  last changed:        {controls.changed_at} by {controls.changed_by or 'unknown'}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--stage", required=True, choices=sorted(STAGES))
    root.add_argument("--region")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="the controls in force")
    kill = commands.add_parser("kill-switch", help="refuse (--on) or admit again (--off) every new turn")
    on_off(kill)
    kill.add_argument("--reason", default="", help="why (shown to operators; never to users)")
    provider = commands.add_parser("provider", help="turn a configured provider off or on again")
    provider.add_argument("name")
    on_off(provider)
    budget = commands.add_parser("tier-budget", help="lower a tier's daily token budget, or --reset it")
    budget.add_argument("tier")
    amount = budget.add_mutually_exclusive_group(required=True)
    amount.add_argument("tokens", nargs="?", type=int)
    amount.add_argument("--reset", action="store_true")
    for command in (kill, provider, budget):
        command.add_argument("--apply", action="store_true", help="write the change (default: dry run)")
    return root


def on_off(command: argparse.ArgumentParser) -> None:
    group = command.add_mutually_exclusive_group(required=True)
    group.add_argument("--on", action="store_true")
    group.add_argument("--off", action="store_true")


def main(argv: list[str] | None = None, *, session: Any = None) -> int:
    args = parser().parse_args(argv)
    config = STAGES[args.stage]
    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region)  # the caller's region (AWS_REGION), as every script
    ssm = session.client("ssm")
    try:
        name = stage_parameter(session.client("cloudformation"), args.stage)
        current = read_controls(ssm, name)
        print(f"{args.stage} runtime controls ({name}):\n{describe(current)}")
        if args.command == "show":
            return 0
        args.changed_by = session.client("sts").get_caller_identity()["Arn"]
        try:
            after = changed(config, current, args)
        except RefusedChange as refusal:
            print(f"refused: {refusal}", file=sys.stderr)
            return 2
        print(f"would become:\n{describe(after)}" if not args.apply else f"now:\n{describe(after)}")
        if not args.apply:
            print("dry run: nothing changed (add --apply)")
            return 0
        write_controls(ssm, name, after)
    except (ClientError, BotoCoreError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    print(f"written; every function has it within {CONTROLS_CACHE_SECONDS} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
