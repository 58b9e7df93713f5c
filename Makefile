# Two commands for a newcomer: `make demo` and `make test` (README).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export OMP_NUM_THREADS := 1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test bench tools clean compose-check

$(STAMP): requirements/web.txt requirements/worker.txt requirements/dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt
	@touch $(STAMP)

# The embedded default: no services, SQLite under var/, tiny local models, tasks on threads.
demo: $(STAMP)
	@mkdir -p var
	@test -s var/secret_key || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
	env -u DATABASE_URL -u REDIS_URL SECRET_KEY="$$(cat var/secret_key)" $(BIN)/python manage.py migrate --noinput -v 0
	env -u DATABASE_URL -u REDIS_URL SECRET_KEY="$$(cat var/secret_key)" $(BIN)/python manage.py demo_setup --url http://$(HOST):$(PORT)/
	env -u DATABASE_URL -u REDIS_URL SECRET_KEY="$$(cat var/secret_key)" $(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --log-level warning

# Debian's Chromium for the real-browser tests (never a downloaded browser) and Debian's
# docker-compose v1, which validates docker-compose.yml offline. Installed when missing (as root).
tools:
	@if ! test -x /usr/bin/chromium || ! command -v docker-compose >/dev/null; then \
	  test "$$(id -u)" = 0 || { echo "As root: apt-get install chromium chromium-driver docker-compose"; exit 1; }; \
	  apt-get update -q && apt-get install -y -q chromium chromium-driver docker-compose; fi

# The whole suite, against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, defaults in config/settings_test.py).
test: $(STAMP) tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pytest tests/bench -s -p no:cacheprovider $(PYTEST_ARGS)

compose-check:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf var test-output
