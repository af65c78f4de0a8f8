# Two commands do everything on a fresh machine: `make bench` and `make test`.
# Both create the virtual environment on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (a plain `torch` requirement pulls a multi-GB CUDA build on Linux).
# On a GPU machine: make bench TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
# Ray is optional for users (pip install 'mmadbench[ray]'); the test environment includes it.
EXTRAS ?= test,ray
SWEEP ?= configs/default.toml
OUT ?= results
DEVICE ?= auto

.PHONY: install bench bench-parallel report test clean-results

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $@

install: $(VENV)/.installed

## Run the default sweep (offline, digits-text, every detector), write results/ and the README table.
bench: install
	$(PY) -m mmadbench run $(SWEEP) --out $(OUT) --device $(DEVICE) --readme README.md

## Same sweep on local worker processes, e.g. make bench-parallel WORKERS=2
WORKERS ?= 2
bench-parallel: install
	$(PY) -m mmadbench run $(SWEEP) --out $(OUT) --device $(DEVICE) --readme README.md --executor process --workers $(WORKERS)

## Regenerate tables and figures of the default sweep from its database, without running anything.
report: install
	$(PY) -m mmadbench report $(OUT)/default --readme README.md

test: install
	$(PY) -m pytest

clean-results:
	rm -rf $(OUT)/default/results.sqlite* $(OUT)/default/scores
