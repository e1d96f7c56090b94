# The two commands: `make run` (set up everything, then serve the site with its worker)
# and `make test` (the same setup, then the whole test suite). Both are safe to repeat:
# each step runs only when its inputs changed.

SHELL := /bin/bash
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make
NPM_DIR := theme/static_src
CSS := theme/static/css/dist/styles.css
CSS_SOURCES := $(shell find templates static/js accounts config videos library -type f \( -name '*.html' -o -name '*.js' -o -name '*.py' \) 2>/dev/null)
PYTEST_ARGS ?= -n auto

.PHONY: run test serve setup system-deps test-system-deps vendor python-deps node-deps css migrate lint fmt clean help faulttest loadtest fuzz

help:
	@echo "make run    - install what is missing, migrate, create the first admin, serve on $(HOST):$(PORT)"
	@echo "make test   - the same setup, then the test suite (PYTEST_ARGS=... to pass options)"
	@echo "make serve  - production-style: collectstatic, gunicorn (deploy/gunicorn.conf.py) + workers"
	@echo "make lint   - ruff"

setup: system-deps python-deps node-deps css vendor .env

system-deps:
	@scripts/system-deps.sh

# Browser tests drive the OS Chromium, so the test setup also makes sure it is there.
test-system-deps:
	@SVL_BROWSER_TESTS=1 scripts/system-deps.sh

python-deps: $(STAMPS)/python
$(STAMPS)/python: requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@mkdir -p $(STAMPS) && touch $@

# `npm install --no-save` follows package-lock.json exactly like `npm ci`, but tolerates the
# lock lacking Tailwind's optional native builds for other platforms (darwin, win32...), which
# registry mirrors often do not carry; `npm ci` refuses such a lock as "out of sync".
node-deps: $(STAMPS)/node
$(STAMPS)/node: $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	cd $(NPM_DIR) && npm install --no-save --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

css: $(CSS)
$(CSS): $(STAMPS)/node $(NPM_DIR)/src/styles.css $(CSS_SOURCES)
	cd $(NPM_DIR) && npm run --silent build
	@touch $@

# Browser libraries come from npm (pinned in package-lock.json), never from a CDN.
VENDOR := static/vendor/media-player.js static/vendor/tus.min.js
vendor: $(VENDOR)
# With their source maps: the bundles name them, and production's manifest storage
# (collectstatic) refuses a reference to a missing file.
# The player: media-chrome + hls-video-element + hls.js in one self-contained file (esbuild,
# an IIFE: no imports between hashed files), with its source map beside it.
static/vendor/media-player.js: $(STAMPS)/node $(wildcard $(NPM_DIR)/src/*.js)
	cd $(NPM_DIR) && npm run --silent build:player -- --log-level=warning
static/vendor/tus.min.js: $(STAMPS)/node
	@mkdir -p static/vendor && cp $(NPM_DIR)/node_modules/tus-js-client/dist/tus.min.js $(NPM_DIR)/node_modules/tus-js-client/dist/tus.min.js.map static/vendor/

.env:
	$(PYTHON) scripts/dotenv.py .env

migrate: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

# scripts/serve.sh runs the web server and both job clusters (short jobs; transcodes:
# settings.Q_TRANSCODE_CLUSTER), and stops all three on Ctrl-C or a SIGTERM to make's process
# group (tests/platform/test_stopping.py).
run: migrate
	$(PY) manage.py ensure_admin
	HOST=$(HOST) PORT=$(PORT) scripts/serve.sh dev

test: test-system-deps setup
	$(PY) -m pytest $(PYTEST_ARGS)

serve: migrate
	$(PY) manage.py collectstatic --noinput
	$(PY) manage.py ensure_admin
	HOST=$(HOST) PORT=$(PORT) scripts/serve.sh prod

lint: python-deps
	$(VENV)/bin/ruff check .

fmt: python-deps
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(STAMPS) $(VENV) $(NPM_DIR)/node_modules theme/static/css/dist staticfiles

# Benchmarks (issue #4, bench/README.md): each prints a ratio against a baseline measured in
# the same run. BENCH_ARGS=--quick for a short run; --strict makes a missed target fail.
.PHONY: bench
BENCH_ARGS ?=
faulttest: setup
	$(PY) scripts/faulttest $(FAULTTEST_ARGS)

fuzz: setup
	$(PY) scripts/fuzz $(FUZZ_ARGS)

# The scale-out checks, then 50 viewers for 60 s with 10 uploads of 200 MiB, then the viewer ramp.
loadtest: setup
	$(PY) bench/scaleout $(LOADTEST_ARGS)
	$(PY) bench/viewers --viewers 50 --seconds 60 --uploads 10 --upload-mib 200 $(VIEWERS_ARGS)
	$(PY) bench/viewers --ramp $(VIEWERS_ARGS)

bench: setup
	$(PY) bench/transcode $(BENCH_ARGS)
	$(PY) bench/segments $(BENCH_ARGS)
	$(PY) bench/upload $(BENCH_ARGS)
	$(PY) bench/search $(BENCH_ARGS)
