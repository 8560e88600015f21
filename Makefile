# OFeli — every command needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install lint format migrate worker clean bench prod-check

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## make demo: install, create the SQLite database with demo data, start the task worker
## and serve the product on http://127.0.0.1:8000 (Ctrl+C stops both).
demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py load_demo
	@echo "Mails are written as .eml files in var/mails/"
	@trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py db_worker --no-reload & WORKER=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: the whole suite (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL).
test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint ofeli --check --quiet || true

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

worker: $(STAMP)
	$(PY) manage.py db_worker --no-reload

## make prod-check: the production configuration boots with gunicorn on PostgreSQL (S1, as CI does).
prod-check: $(STAMP)
	.ci/prod-server

clean:
	rm -rf $(VENV) var
