# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest clean lock

# The venv holds the releases of constraints.txt, so a new release elsewhere changes nothing here.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# constraints.txt anew: the newest releases pyproject.toml allows, installed in a venv of their own.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet '.[dev]'
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/pip freeze --exclude skp; } > constraints.new
	mv constraints.new constraints.txt
	rm -rf $(LOCK_VENV)

CERTS ?= certs
# The kind of key of a new development PKI: ec (P-256) or rsa (3072, for mono and .NET).
PKI_KEY ?= ec

# The embedded hub: SQLite, a development PKI and demo participants, on https://localhost:8443.
# `make run PORT=9443` serves on another port, and says so in the WSDLs: it sets SKP_BIND_PORT
# and SKP_PUBLIC_URL (https://localhost:$(PORT)).
ifdef PORT
run: export SKP_BIND_PORT := $(PORT)
run: export SKP_PUBLIC_URL := https://localhost:$(PORT)
endif
run: $(STAMP)
	$(BIN)/skp migrate
	$(BIN)/skp pki init-dev --dir $(CERTS) --key $(PKI_KEY) --if-missing
	$(BIN)/skp participants add-demo --certs $(CERTS)
	SKP_TEST_PARTNER=$${SKP_TEST_PARTNER:-true} SKP_PORTAL=$${SKP_PORTAL:-true} $(BIN)/skp serve

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check skp tests examples bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov=skp --cov-branch --cov-report=term --cov-fail-under=90 --durations=30

clean:
	rm -rf $(VENV) var build .pytest_cache .mypy_cache .ruff_cache
