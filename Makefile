# Rollcall: `make run` serves the demo, `make test` runs the suite, `make test-fast` its quick part.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
PORT   ?= 5000

.PHONY: install run test test-fast test-deps lint bench load lighthouse screenshots clean

install: $(VENV)/.installed static/vendor/.installed static/dist/manifest.json

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf static/vendor && mkdir -p static/vendor/axe-core
	cp node_modules/axe-core/axe.min.js static/vendor/axe-core/
	touch $@

# The style sheet (only the USWDS packages static/src/styles.scss names), scripts, fonts and images under
# content-hashed names, with .gz and .br copies: see docs/performance.md.
static/dist/manifest.json: static/vendor/.installed $(wildcard static/src/*)
	node static/src/build.mjs

run: install
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) courses sync
	$(FLASK) demo seed --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)"
	$(FLASK) serve --port $(PORT)

test-deps: $(VENV)/.test-installed

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

# pytest's exit status 5 means no test was selected: it never fails a target here.
PYTEST   := $(BIN)/pytest
NONE_OK  := || [ $$? -eq 5 ]
# The SQLite pass when a PostgreSQL pass follows: the browser, fault and PostgreSQL-only tests run there, except
# those whose check depends on the database kind (each_database).
SQLITE_BESIDE_POSTGRESQL := not browser and not postgresql and (not faults or each_database)

# The suite on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set, and then the browser and fault tests
# run in that pass only. Without TEST_DATABASE_URL the SQLite pass runs them all.
test: install test-deps
	ROLLCALL_TEST_DB=sqlite $(PYTEST) $(if $(TEST_DATABASE_URL),-m "$(SQLITE_BESIDE_POSTGRESQL)") $(NONE_OK)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL =="; \
	  ROLLCALL_TEST_DB=postgresql $(PYTEST) $(NONE_OK); \
	fi

# The quick inner loop, on SQLite: no browser, fault or slow tests (pytest.ini says which carry them).
test-fast: install test-deps
	ROLLCALL_TEST_DB=sqlite $(PYTEST) -q -m "not browser and not faults and not slow" $(NONE_OK)

# ruff (pyproject.toml) over the whole tree, and the import contracts: layered domain packages, no cycles.
lint: test-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Agency-scale figures (BENCH_OFFICERS, default 100000) on the local PostgreSQL when pg_isready answers on
# 127.0.0.1:5432 (database rollcall_bench_<officers>, made when missing, seeded with COPY), else on SQLite
# (instance/bench-<officers>.db); BENCH_DATABASE=sqlite chooses SQLite, BENCH_DATABASE_URL any database.
# bench-results.json gives each step's figures beside the database, the officers and the load average.
# The test dependencies bring the loopback SMTP server the delivery is measured against.
bench: install test-deps
	command -v sqlite3 >/dev/null || (apt-get update -qq && apt-get install -y -qq sqlite3)
	$(BIN)/python -m bench.run

# Officers at the site at once, over HTTP: gunicorn and the scheduler on PostgreSQL (LOAD_DATABASE_URL,
# whose schema is dropped and made again; LOAD_OFFICERS, LOAD_DURATION, LOAD_THINK ... in bench/load.py).
# The test dependencies bring the loopback SMTP server the scheduler's mail goes to.
LOAD_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/rc_load

load: install test-deps
	LOAD_DATABASE_URL='$(LOAD_DATABASE_URL)' $(BIN)/python -m bench.load

# A full-page picture of every kind of page, for each demo role, 1280 and 320 px wide, in screenshots/ (ignored).
screenshots: install test-deps
	$(BIN)/python -m bench.screenshots

# Lighthouse's mobile profile on every kind of page of the demo (docs/performance.md has the figures).
lighthouse: install test-deps
	$(BIN)/python -m bench.lighthouse

clean:
	rm -rf $(VENV) node_modules static/vendor static/dist screenshots lighthouse
