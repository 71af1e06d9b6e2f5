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

# Every benchmark of bench/README.md, about 8 minutes on 2 CPUs: the status page under load
# (granian as the Procfile runs it against nginx), the incident API and the metrics page at
# 100,000 incidents, an alert storm on granian, and the sweepers at 1,000,000 action items.
# Needs Redis on 127.0.0.1:6379 (databases 5 to 8 are the benches') and PostgreSQL on
# 127.0.0.1:5432 (they make and drop fireline_bench_* databases); wrk and nginx come from apt.
# Runs them all, then fails if any did.
bench: install
	@{ command -v wrk >/dev/null && { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null; } || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null; }
	@start=$$(date +%s); failed=""; \
	for bench in "status_page.py$(if $(DURATION), --duration $(DURATION))" api_incidents.py metrics_page.py \
	    alert_storm.py enforcement.py publish_history.py; do \
	  echo; echo "=== bench/$$bench"; $(PY) bench/$$bench || failed="$$failed $$bench"; \
	done; \
	echo; echo "make bench: all benchmarks in $$(( $$(date +%s) - start )) s"; \
	test -z "$$failed" || { echo "make bench: failed:$$failed"; exit 1; }

clean:
	rm -rf var/ .pytest_cache
