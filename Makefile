# Netsterk: `make run` starts the whole system on this machine, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test test-fast chaos bench deps system-deps status seed-demo clean screenshots

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

deps: $(INSTALLED) system-deps

system-deps:
	bash scripts/system-deps.sh

run: deps
	$(VENV)/bin/netsterk run

# the dependency audit first (fails on a vulnerability that has a fix), then the suite either way
test: deps
	bash scripts/audit.sh; audit=$$?; bash scripts/test.sh && exit $$audit

# without the slow end-to-end suite (for a quick local loop)
test-fast: deps
	NETSTERK_SKIP_SLOW=1 bash scripts/test.sh

# fault tests on the real stack; ends with the table fault / submitted / complete / duplicates / lost
chaos: deps
	$(PY) -m pytest -q -p no:cacheprovider tests/chaos -m chaos

# benchmarks on the real broker / stack: prints a table, writes bench/results/latest.json
bench: deps
	$(PY) -m bench.run

# the portal's main pages in Chromium on the real stack -> docs/screenshots/*.png (README shows them)
screenshots: deps
	NETSTERK_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/test_browser_portal.py

status: $(INSTALLED)
	$(VENV)/bin/netsterk status

seed-demo: $(INSTALLED)
	$(VENV)/bin/netsterk seed-demo

clean:
	rm -rf var/
