# nianbao: set up .venv, run the main job, the tests or the benchmarks.
#
#   make run     sets up .venv and runs the main job on the embedded sample (data/raw -> data/processed)
#   make test    sets up .venv and runs the test suite (pytest, 2 xdist workers)
#   make lint    sets up .venv and runs the linter (ruff) and the type checker (mypy), both set in pyproject.toml
#   make bench   sets up .venv and runs every bench/*.py
#
# The install is skipped while .venv/.installed-<hash of pyproject.toml> exists, so repeated
# runs are fast; editing pyproject.toml triggers a reinstall.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Offline machine: no telemetry, no analytics, a quiet ephemeral Prefect server.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export PREFECT_SERVER_LOGGING_LEVEL := CRITICAL
export PIP_NO_INPUT := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
VPY := $(VENV)/bin/python
PYPROJECT_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
STAMP := $(VENV)/.installed-$(PYPROJECT_HASH)

# Extra arguments: make run ARGS='...', make test ARGS='-k parse'
ARGS ?=

.PHONY: help setup run test lint bench

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

setup: $(STAMP)

$(VPY):
	@test -n "$(PYTHON)" || { echo "no python3.11/python3 found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(VPY)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(VENV)/bin/nianbao run $(ARGS)

test: $(STAMP)
	$(VPY) -m pytest -n 2 $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	@shopt -s nullglob; files=(bench/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no bench/*.py"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(VPY) "$$f"; done
