# make run  — install, prepare the database, load the demo program when empty, serve on http://127.0.0.1:5000
# make test — install and run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install translations messages db run test bench bench-core lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

translations: install
	$(BIN)/pybabel compile --use-fuzzy -f -d booking/translations >/dev/null

# Re-extract the user-facing strings and merge them into the zh_CN and en catalogs (then translate the new ones).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o booking/translations/messages.pot .
	$(BIN)/pybabel update -i booking/translations/messages.pot -d booking/translations --no-fuzzy-matching --ignore-obsolete -w 120

db: install translations
	$(BIN)/flask --app booking db upgrade

# The scheduler (SPEC §6) runs beside the development server and is stopped when the server stops. The development
# server speaks plain HTTP, so its cookies are not marked Secure (production marks them; docs/deployment.md).
run: db
	$(BIN)/flask --app booking demo --if-empty
	$(BIN)/flask --app booking scheduler run & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	BOOKING_SECURE_COOKIES=false $(BIN)/flask --app booking run --host $(HOST) --port $(PORT)

test: install translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make bench — the figures of docs/performance.md: the booking core (one instrument's month through gunicorn, a data
# set built in seconds; alone: make bench-core), then the national data set (50,000 resources, 5,000,000 bookings;
# built once per day and size, minutes), each on SQLite and on PostgreSQL (skipped when unreachable).
# A smaller run: make bench BENCH_ARGS="--resources 5000 --bookings 500000"
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
BENCH_ARGS ?=
bench-core: install translations
	$(BIN)/python bench/booking_core.py
	$(BIN)/python bench/booking_core.py --database-url $(BENCH_DATABASE_URL)

bench: bench-core
	$(BIN)/python bench/national.py $(BENCH_ARGS)
	$(BIN)/python bench/national.py --database-url $(BENCH_DATABASE_URL) $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check booking tests bench docs
	$(BIN)/ruff format --check booking tests bench docs

format: install
	$(BIN)/ruff format booking tests bench docs
	$(BIN)/ruff check --fix booking tests bench docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
