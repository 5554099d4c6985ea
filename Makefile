# RestoreWatch developer and CI entry points. `make test` works on a fresh clone: it installs what it needs.
#   make install      project venv (.venv) from uv.lock (uv is pip-installed first if missing)
#   make test         lint + typecheck + pytest + sam validate --lint + sam build
#   make demo         the watcher end to end on a local moto server
#   make demo-org     the central watcher of an organization (SCP at an OU) on a local moto server
#   make sam-local    the real `sam local invoke` of the built functions in Docker, on a local moto server
#   make bench        benchmarks (not part of `make test`)
#   make security     cfn-lint, checkov (.checkov.yaml) and pip-audit (part of `make test`)
#   make guarantees   the full fault matrix and storm; rewrites docs/guarantees.md

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

UV_VERSION := 0.13.9
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
PIP_AUDIT_VERSION := 2.10.1

# Python 3.13 (the Lambda runtime) from pyenv when present, else any python >= 3.11 uv can find.
PYENV_ROOT ?= $(HOME)/.pyenv
PY313 := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13))
PYTHON_REQUEST := $(if $(PY313),$(PY313),>=3.11)
# Interpreter used only to pip-install uv when it is missing.
BOOTSTRAP_PYTHON ?= $(or $(PY313),$(shell command -v python3 2>/dev/null),python3)
# `uv` on PATH if it runs, else uv pip-installed into BOOTSTRAP_PYTHON (works before a pyenv rehash).
UV := $(shell uv --version >/dev/null 2>&1 && echo uv || echo "$(BOOTSTRAP_PYTHON) -m uv")

VENV := .venv
PY := $(VENV)/bin/python
# aws-sam-cli lives in its own uv tool environment, never in the project venv.
SAM = "$$($(UV) tool dir --bin)/sam"
# checkov and pip-audit also live in uv tool environments of their own.
CHECKOV = "$$($(UV) tool dir --bin)/checkov"
PIP_AUDIT = "$$($(UV) tool dir --bin)/pip-audit"

export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export UV_PYTHON_PREFERENCE := system

.PHONY: help uv install lock test lint typecheck pytest sam sam-install sam-validate sam-build sam-local demo demo-org bench clean security cfn-lint checkov audit guarantees

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

uv:
	@$(UV) --version >/dev/null 2>&1 || $(BOOTSTRAP_PYTHON) -m pip install --disable-pip-version-check -q "uv==$(UV_VERSION)"

install: uv
	$(UV) sync --frozen --python "$(PYTHON_REQUEST)"

lock: uv
	$(UV) lock

test: install lint typecheck pytest sam security

lint: install
	$(UV) lock --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

# The sam-local test (tests/e2e/test_sam_local.py) runs the real `sam local invoke`: it is told where
# the SAM CLI and the Python 3.13 for `sam build` are.
SAM_LOCAL_ENV = SAM_CLI=$(SAM) SAM_PYTHON="$(PY313)"

pytest: install sam-install
	$(SAM_LOCAL_ENV) $(PY) -m pytest -q -n auto

sam: sam-validate sam-build

sam-install: uv
	@test -x $(SAM) && $(SAM) --version | grep -q "$(SAM_CLI_VERSION)" \
		|| $(UV) tool install --force --python "$(PYTHON_REQUEST)" "aws-sam-cli==$(SAM_CLI_VERSION)"

sam-validate: sam-install
	$(SAM) validate --lint
	$(SAM) validate --lint --template templates/forwarder.yaml
	$(SAM) validate --lint --template templates/regional-forwarder.yaml

# sam build's python3.13 workflow needs a python3.13 first on PATH.
sam-build: sam-install
	@test -n "$(PY313)" || { echo "sam build needs Python 3.13 (pyenv install 3.13)" >&2; exit 1; }
	PATH="$(dir $(PY313)):$$PATH" $(SAM) build

demo: install
	$(PY) -m restorewatch_cli.demo

# Needs Docker's engine (and QEMU's binfmt registration for arm64 on other machines); the first run
# builds the Lambda base image as root (README: "With Docker: sam local invoke").
sam-local: install sam-install
	@test -n "$(PY313)" || { echo "sam-local needs Python 3.13 (pyenv install 3.13)" >&2; exit 1; }
	$(SAM_LOCAL_ENV) $(PY) -m restorewatch_cli.sam_local

demo-org: install
	$(PY) -m restorewatch_cli.demo_org

bench: install
	$(PY) bench/run.py

security: cfn-lint checkov audit

cfn-lint: install
	$(VENV)/bin/cfn-lint template.yaml templates/*.yaml

checkov: uv
	@test -x $(CHECKOV) && $(CHECKOV) --version | grep -q "$(CHECKOV_VERSION)" \
		|| $(UV) tool install --force --python "$(PYTHON_REQUEST)" "checkov==$(CHECKOV_VERSION)"
	$(CHECKOV) --config-file .checkov.yaml -f template.yaml -f templates/forwarder.yaml \
		-f templates/regional-forwarder.yaml

# pip-audit over every locked dependency (uv.lock, hashes included). Its vulnerability data comes
# from PyPI's per-release JSON API; where that is unreachable (as on the CI machine, behind a PyPI
# mirror) every package is reported "could not be audited": the step then says loudly that no
# audit was done and passes, unless AUDIT_REQUIRED=1. A known vulnerability always fails it.
audit: uv
	@test -x $(PIP_AUDIT) && $(PIP_AUDIT) --version | grep -q "$(PIP_AUDIT_VERSION)" \
		|| $(UV) tool install --force --python "$(PYTHON_REQUEST)" "pip-audit==$(PIP_AUDIT_VERSION)"
	@mkdir -p build
	$(UV) export --frozen --format requirements-txt --all-groups --no-emit-project -o build/audit-requirements.txt >/dev/null
	@$(PIP_AUDIT) --disable-pip --progress-spinner off -r build/audit-requirements.txt > build/audit.txt 2>&1 \
		|| { cat build/audit.txt; echo "pip-audit: known vulnerabilities (above)" >&2; exit 1; }
	@skipped=$$(grep -c "could not be audited" build/audit.txt || true); \
	total=$$(grep -c "==" build/audit-requirements.txt || true); \
	if [ "$$skipped" -gt 0 ]; then \
		echo "pip-audit: WARNING: $$skipped of $$total locked packages could not be audited (vulnerability service unreachable); no known vulnerability among the rest"; \
		if [ "$${AUDIT_REQUIRED:-0}" = 1 ]; then exit 1; fi; \
	else echo "pip-audit: $$total locked packages audited, no known vulnerability"; fi

guarantees: install
	MATRIX=full STORM=full RESTOREWATCH_WRITE_GUARANTEES=1 $(PY) -m pytest -q -n auto tests/faults \
		tests/integration/test_handler.py tests/unit/engine/test_wildcard_worst_case.py

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
