# Fireline: `make run` starts it with demo data, `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install lint migrate demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_periodic_tasks

demo: migrate
	$(PY) manage.py demo

# Web server, Celery worker and beat together; Ctrl-C stops all three.
run: demo
	WEB_PORT=$(PORT) $(VENV)/bin/honcho --procfile Procfile.dev start

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# The status page under load: granian as the Procfile runs it against nginx serving the same bytes.
# Needs Redis on 127.0.0.1:6379 (databases 5 and 6 are the bench's); wrk and nginx come from apt.
bench: install
	@{ command -v wrk >/dev/null && { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null; } || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null; }
	$(PY) bench/status_page.py $(if $(DURATION),--duration $(DURATION))

clean:
	rm -rf var/ .pytest_cache
