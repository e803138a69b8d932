# CodeQuest Rewards: `make run` (web + worker + beat) and `make test` (full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000
OCTOKIT_EXAMPLES := @octokit/webhooks-examples@7.6.1

.PHONY: run test lint format services bench-ingest bench-assignment bench-dashboard bench-sync bench-processing bench-steady message-images clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

var/node/node_modules/@octokit/webhooks-examples/package.json:
	mkdir -p var/node
	npm install --silent --no-audit --no-fund --prefix var/node $(OCTOKIT_EXAMPLES) \
	  || echo "npm unavailable: octokit example corpus will be skipped"

run: $(VENV)/.runtime
	$(MANAGE) migrate --noinput
	$(MANAGE) setup_periodic_tasks
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) ensure_superuser
	@# honcho stops all three when one exits: never half-alive. The worker and
	@# beat reconnect to the broker by themselves, so only a real fault ends it.
	@# One ready line (site, admin, webhook URLs) once the web answers.
	@PORT=$(PORT) $(MANAGE) ready_line --wait --timeout 300 & ready=$$!; \
	  PATH="$(CURDIR)/$(BIN):$$PATH" BIND=127.0.0.1 PYTHONUNBUFFERED=1 \
	  $(BIN)/honcho --procfile Procfile start --port $(PORT) web worker beat; \
	  status=$$?; kill $$ready 2>/dev/null; \
	  [ $$status -eq 0 ] || [ $$status -eq 130 ] || \
	  echo "make run: a process exited with status $$status (its last lines are above); web, worker and beat were all stopped" >&2; \
	  exit $$status

test: $(VENV)/.dev var/node/node_modules/@octokit/webhooks-examples/package.json
	@set -e; env_lines="$$(scripts/test-services.sh)"; set -a; eval "$$env_lines"; set +a; \
	export SECRET_KEY=test-secret-key-not-for-production; \
	export CODEQUEST_ENCRYPTION_KEYS=$${CODEQUEST_ENCRYPTION_KEYS:-k8Vq0mT3v6Jt1yXk9d2r5w8z0c3f6h9j2m5p8s1u4x7}; \
	echo "== ruff"; $(BIN)/ruff check . && $(BIN)/ruff format --check .; \
	echo "== mypy (strict: integrations/providers)"; $(BIN)/mypy; \
	echo "== import layers"; $(BIN)/lint-imports --no-cache; \
	echo "== migrations"; $(MANAGE) makemigrations --check --dry-run; \
	echo "== django checks"; $(MANAGE) check; \
	echo "== pytest"; $(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

services:
	@scripts/test-services.sh

bench-ingest: $(VENV)/.dev
	$(BIN)/python -m bench.ingest.run

bench-assignment: $(VENV)/.dev
	$(BIN)/python -m bench.assignment.run

bench-dashboard: $(VENV)/.dev
	$(BIN)/python -m bench.dashboard.run

bench-sync: $(VENV)/.dev
	$(BIN)/python -m bench.sync.run

bench-processing: $(VENV)/.dev
	$(BIN)/python -m bench.processing.run

bench-steady: $(VENV)/.dev
	$(BIN)/python -m bench.processing.steady

message-images: $(VENV)/.dev
	$(BIN)/python -m scripts.message_images

clean:
	rm -rf var/broker var/staticfiles .pytest_cache
