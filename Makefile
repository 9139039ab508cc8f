# The two commands: `make run` (serve the demo) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint check format venv demo clean serve docs docs-serve

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) manage.py migrate --noinput
	scripts/load_demo.sh

run: demo
	HOST=$(HOST) PORT=$(PORT) scripts/run.sh

test: venv
	$(PY) scripts/with_services.py $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every quality gate CI runs before the tests: lint, formatting, migrations in step with
# the models, the import layers (pyproject.toml [tool.importlinter]) and the types.
check: lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py rule_catalog --check
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy .
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var staticfiles .pytest_cache

# Production mode (README "Deploying"): gunicorn, a Celery worker and beat, on PostgreSQL
# and Redis (DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, SECRET_KEY, ALLOWED_HOSTS).
serve:
	HOST=$(HOST) PORT=$(PORT) scripts/serve.sh

# The documentation site (MkDocs, Material theme) from docs/: strict, so a broken link or
# a page missing from the navigation fails.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

docs-serve: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001
