"""scripts/rotate_llm_key.py with moto: the new key comes from standard input and replaces the secret
(or one provider's entry of it), the wait covers the functions' cache, a failed smoke test says how to
go back, and no key is printed."""

from __future__ import annotations

import io
import json

import boto3
import pytest

from lambda_src.chat.dependencies import SECRET_CACHE_SECONDS

# The operator scripts and the saved queries read stacks/ (aws-cdk-lib): make test runs these; the
# runtime venv of make test-runtime holds the handler's dependencies only.
pytest.importorskip("aws_cdk")
from scripts.rotate_llm_key import main, providers_ok
from tests.unit.conftest import LLM_API_KEY, REGION, ChatEnv
from tests.unit.stage_session import StageSession

NEW_KEY = "sk-new-canary-9d8c7b6a5f4e"


class Run:
    def __init__(self, chat_env: ChatEnv) -> None:
        self.session = StageSession(LlmSecretArn=chat_env.secret_arn)
        self.slept: list[float] = []
        self.verified: list[tuple[str, str | None, list[str]]] = []
        self.passes = True

    def __call__(self, *arguments: str, stdin: str = NEW_KEY + "\n") -> int:
        def verify(stage: str, region: str | None, providers: list[str]) -> bool:
            self.verified.append((stage, region, providers))
            return self.passes

        return main(
            ["--stage", "dev", *arguments],
            session=self.session,
            stdin=io.StringIO(stdin),
            sleep=self.slept.append,
            verify=verify,
        )


@pytest.fixture
def run(chat_env: ChatEnv) -> Run:
    return Run(chat_env)


def _secret(chat_env: ChatEnv) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return str(client.get_secret_value(SecretId=chat_env.secret_arn)["SecretString"])


def test_a_dry_run_reads_no_key_and_changes_nothing(
    run: Run, chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run() == 0

    out = capsys.readouterr().out
    assert "one key" in out
    assert "dry run" in out
    assert LLM_API_KEY not in out
    assert _secret(chat_env) == LLM_API_KEY
    assert run.verified == []


def test_apply_puts_the_key_waits_out_the_cache_then_runs_the_smoke_test(
    run: Run, chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--apply") == 0

    assert _secret(chat_env) == NEW_KEY
    assert sum(run.slept) > SECRET_CACHE_SECONDS  # the cache, and the deep health answer's after it
    assert run.verified == [("dev", None, ["openai"])]  # dev's providers that read the key
    captured = capsys.readouterr()
    assert NEW_KEY not in captured.out + captured.err
    assert LLM_API_KEY not in captured.out + captured.err


def test_one_providers_entry_is_replaced_and_the_others_kept(run: Run, chat_env: ChatEnv) -> None:
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=chat_env.secret_arn,
        SecretString=json.dumps({"openai": "sk-old-openai", "azure": "az-key-1"}),
    )

    assert run("--provider", "openai", "--apply") == 0

    assert json.loads(_secret(chat_env)) == {"openai": NEW_KEY, "azure": "az-key-1"}


def test_a_json_secret_needs_the_provider_and_a_bad_key_is_refused(run: Run, chat_env: ChatEnv) -> None:
    assert run("--apply", stdin="short\n") == 2
    assert run("--apply", stdin="sk-with a space inside\n") == 2
    assert _secret(chat_env) == LLM_API_KEY
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=chat_env.secret_arn, SecretString='{"openai": "sk-old-openai"}'
    )
    assert run("--apply") == 2
    assert run("--provider", "anthropic", "--apply") == 2
    assert run.verified == []


def test_a_failed_smoke_test_prints_how_to_make_the_previous_version_current(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.passes = False

    assert run("--apply") == 1

    err = capsys.readouterr().err
    assert "update-secret-version-stage" in err
    assert "--move-to-version-id" in err
    assert NEW_KEY not in err
    assert LLM_API_KEY not in err


def test_a_key_given_on_a_terminal_is_not_echoed(
    run: Run, monkeypatch: pytest.MonkeyPatch, chat_env: ChatEnv
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompted: list[str] = []

    def getpass(prompt: str) -> str:
        prompted.append(prompt)
        return NEW_KEY

    monkeypatch.setattr("scripts.rotate_llm_key.getpass.getpass", getpass)
    code = main(
        ["--stage", "dev", "--apply"],
        session=run.session,
        stdin=Terminal(),
        sleep=lambda _: None,
        verify=lambda *_: True,
    )

    assert code == 0
    assert prompted == ["new LLM key (not shown): "]
    assert _secret(chat_env) == NEW_KEY


def test_a_shared_key_stays_for_the_other_providers_when_one_gets_its_own(
    run: Run, chat_env: ChatEnv
) -> None:
    assert run("--provider", "openai", "--apply") == 0

    assert json.loads(_secret(chat_env)) == {"apiKey": LLM_API_KEY, "openai": NEW_KEY}


def test_only_deep_health_saying_each_rotated_provider_is_ok_passes() -> None:
    healthy = {"providers": {"openai": "ok", "bedrock": "ok"}}
    assert providers_ok(healthy, ["openai"])
    # a turn would still pass here: it fails over to bedrock
    assert not providers_ok({"providers": {"openai": "rejected", "bedrock": "ok"}}, ["openai"])
    assert not providers_ok({"status": "unhealthy"}, ["openai"])


def test_a_check_that_cannot_run_still_prints_the_way_back(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object) -> bool:
        raise KeyError("SiteUrl")

    code = main(
        ["--stage", "dev", "--apply"],
        session=run.session,
        stdin=io.StringIO(NEW_KEY),
        sleep=lambda _: None,
        verify=broken,
    )

    assert code == 1
    assert "update-secret-version-stage" in capsys.readouterr().err
