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
# Results under results/ come from committed code: the runner refuses a tree with uncommitted
# changes (generated outputs aside). For a scratch run of edited code: make bench RUN_FLAGS= OUT=/tmp/out
RUN_FLAGS ?= --require-clean

.PHONY: install lock bench check-results report test test-slow test-browser clean-results suite leaderboard oneclass multiview robustness scaling tnbcl-mnist-quick tnbcl-mnist-acceptance tnbcl-cifar10-quick paper

# Every other dependency, transitive ones included, at the exact versions of constraints.txt.
CONSTRAINTS ?= constraints.txt

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	@touch $@

install: $(VENV)/.installed

## Refresh constraints.txt: resolve pyproject.toml's ranges afresh in a scratch environment, then freeze.
LOCK_VENV ?= /tmp/mmadbench-lock-venv
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
	{ sed -n '1,3p' $(CONSTRAINTS); $(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v -i '^torch==' | grep -v '^#'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

## Run the default sweeps (offline, digits-text, every detector): injected anomalies, then the
## one-class protocol; write results/ and the README table. One process runs both (a warm re-run pays
## the imports once); cells run on a pool of WORKERS single-threaded worker processes, one per core.
## Every cell has one thread whatever the executor, so EXECUTOR=inprocess gives the same numbers.
ONE_CLASS_SWEEP ?= configs/default-oneclass.toml
WORKERS ?= 2
EXECUTOR ?= process
bench: install
	$(PY) -m mmadbench run $(SWEEP) $(ONE_CLASS_SWEEP) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --readme README.md --executor $(EXECUTOR) --workers $(WORKERS)

## Re-run both default sweeps into a temporary folder and diff every table (timing tables
## excepted) and the README block against the committed ones; fails on any difference.
check-results: install
	$(PY) -m mmadbench check-results $(SWEEP) $(ONE_CLASS_SWEEP) --results $(OUT) --device $(DEVICE) --readme README.md $(if $(wildcard $(OUT)/leaderboard/manifest.json),--leaderboard $(OUT)/leaderboard)

## Regenerate tables and figures of the default sweep from its database, without running anything.
report: install
	$(PY) -m mmadbench report $(OUT)/default --readme README.md

## Paper sweeps on the real data in DATA_ROOT (../shared/data here); each writes results/<sweep name>/.
DATA_ROOT ?= ../shared/data

## The real-data suite (issue #28): every detector on five datasets, injected and one-class, three
## seeds; writes results/suite/ and results/suite-oneclass/ (their databases are committed, so a
## stopped run resumes), then the leaderboard over both into results/leaderboard/ and the README.
SUITE_SWEEPS ?= configs/suite.toml configs/suite-oneclass.toml
suite: install
	$(PY) -m mmadbench run $(SUITE_SWEEPS) --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --executor $(EXECUTOR) --workers $(WORKERS)
	$(MAKE) leaderboard

## The leaderboard over the committed suite folders, from their stored cells alone (runs nothing).
leaderboard: install
	$(PY) -m mmadbench leaderboard $(OUT)/suite $(OUT)/suite-oneclass --out $(OUT)/leaderboard --readme README.md
oneclass: install
	$(PY) -m mmadbench run configs/cae-oneclass.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)

multiview: install
	$(PY) -m mmadbench run configs/multiview.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)

tnbcl-mnist-quick: install
	$(PY) -m mmadbench run configs/tnbcl-mnist-quick.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)

## The speed issue's acceptance cell: TN-BCL defaults on MNIST, kind all, 1:1, three seeds.
tnbcl-mnist-acceptance: install
	$(PY) -m mmadbench run configs/tnbcl-mnist-acceptance.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --executor process --workers $(WORKERS)

tnbcl-cifar10-quick: install
	$(PY) -m mmadbench run configs/tnbcl-cifar10-quick.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)

## Modality robustness (ablation, missing modality at test time, swapped modality): the default
## digits-text data, then audio-visual digits and three-view mfeat from DATA_ROOT. Each sweep writes
## results/<its name>/ with tables/ablation_*, tables/missing_*, missing_*.png and tables/swap_*.
robustness: install
	$(PY) -m mmadbench run configs/robustness.toml --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)
	$(PY) -m mmadbench run configs/robustness-real.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)
	$(PY) -m mmadbench run configs/robustness-swap.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS)

## Both seed papers reproduced: TN-BCL Tables I-VI and CAE Tables I, III, IV on the data in DATA_ROOT,
## then `mmadbench compare` puts every published figure beside the measured one in results/paper/.
## Resumable: each sweep skips the cells already in its database, and the paper sweeps' databases are
## committed (results/paper-*/results.sqlite), so a run cut short goes on from there. Table II runs
## only when DATA_ROOT has Fashion-MNIST. Table VI's timings run last, alone, one isolated cell at a time.
PAPER_SWEEPS ?= configs/paper-tnbcl-avdigits.toml configs/paper-tnbcl-mnist.toml configs/paper-cae.toml
paper: install
	$(PY) -m mmadbench run $(PAPER_SWEEPS) --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --executor $(EXECUTOR) --workers $(WORKERS)
	@if [ -d "$(DATA_ROOT)/cifar10-jpg" ]; then \
		$(PY) -m mmadbench run configs/paper-tnbcl-cifar10.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --executor $(EXECUTOR) --workers $(WORKERS); \
	else echo "paper: no $(DATA_ROOT)/cifar10-jpg, so Table III is not measured"; fi
	@if [ -d "$(DATA_ROOT)/FashionMNIST" ]; then \
		$(PY) -m mmadbench run configs/paper-tnbcl-fmnist.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --executor $(EXECUTOR) --workers $(WORKERS); \
	else echo "paper: no $(DATA_ROOT)/FashionMNIST, so Table II is not measured (mmadbench fetch fashion-mnist --root $(DATA_ROOT))"; fi
	$(PY) -m mmadbench run configs/paper-tnbcl-timing.toml --data-root $(DATA_ROOT) --out $(OUT) --device $(DEVICE) $(RUN_FLAGS) --executor process --workers 1 --isolate
	$(PY) -m mmadbench compare $(OUT)/paper-* --out $(OUT)/paper --reasons configs/paper-reasons.toml --readme docs/reproduction.md

## Fit + score time of the multi-view detectors for N = 1k, 10k, 100k synthetic samples.
scaling: install
	$(PY) -m mmadbench.benchmark.performance.scaling --detectors scone,muvad,moddis --sizes 1000,10000,100000 --time-limit 900 --out $(OUT)/multiview-scaling $(RUN_FLAGS)

## Lint (ruff check, ruff format --check), then the test suite without the slow end-to-end runs and the browser tests.
test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -m "not slow and not browser"

## The slow end-to-end runs (CLI, worker pools, Ray, limits); CI runs them after `make test`.
test-slow: install
	$(PY) -m pytest -m slow

## The results browser (benchmark/reporting/browser.py) driven in a real browser: Playwright and /usr/bin/chromium
## (apt-get install chromium; `playwright install` is not used). Fails, never skips, when either is missing.
test-browser: install
	$(PY) -m pytest -m browser

## Where the time goes: deep detectors' speed and profile, harness overhead, pool scaling.
perf: install
	$(PY) -m mmadbench.benchmark.performance.perf --data-root $(DATA_ROOT) --out $(OUT)/perf --results $(OUT) --time-tests --device $(DEVICE) $(RUN_FLAGS)

clean-results:
	rm -rf $(OUT)/default/results.sqlite* $(OUT)/default/scores $(OUT)/default/trained $(OUT)/default-oneclass/results.sqlite* $(OUT)/default-oneclass/scores $(OUT)/default-oneclass/trained
