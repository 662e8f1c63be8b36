# The README's two set-up commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench lint fuzz dovecot postgresql clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test,demo]'
	touch $@

$(VENV)/.demo-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[demo]'
	touch $@

# Dovecot is a Debian package; install it when missing and we may (root).
dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing dovecot-imapd (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null; \
	  else \
	    echo "Dovecot is missing: sudo apt-get install dovecot-imapd dovecot-lmtpd (tests that need it will fail)"; \
	  fi; \
	fi

# PostgreSQL (the shared state store's tests start a private server); the same rule.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postgresql (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "PostgreSQL is missing: sudo apt-get install postgresql (tests that need it will fail)"; \
	  fi; \
	fi

test: $(VENV)/.test-installed dovecot postgresql lint
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

demo: $(VENV)/.demo-installed
	$(PY) -m mailrelay_cli.demo

bench: $(VENV)/.test-installed dovecot postgresql
	$(PY) bench/run.py

# The property test of the reply judge with many random examples (a few seconds in `make test`).
FUZZ_EXAMPLES ?= 20000
fuzz: $(VENV)/.test-installed
	MAILRELAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz_judge.py

# ruff (rules and format), the layer contracts (import-linter, [tool.importlinter]) and types (mypy, [tool.mypy]).
lint: $(VENV)/.test-installed
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(VENV)/bin/lint-imports
	$(PY) -m mypy src

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
