# Kuager: `make run` to use it, `make test` to check it. `make help` lists the rest.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
DATA   ?= instance
# `make run PORT=8480`: the operator pages' port. The address is always 127.0.0.1 (never
# a variable here: another address shows every page to the network; see docs/CLI.md).
PORT   ?= 8470

.PHONY: help setup run test lint translations check-strings bench reliability lock clean usb

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Dependencies come from the lock file, every one checked against its SHA-256 (pip refuses
# a file whose hash is not listed); Kuager itself is then installed without dependencies.
# pyproject.toml keeps the version ranges for `pip install .`; `make lock` renews the locks.
$(STAMP): pyproject.toml requirements.lock requirements-test.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# What running needs and nothing else: requirements.lock (hash-checked), no test or lint
# tools. `make setup` and `make test` add those (requirements-test.lock includes it all).
$(RUN_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(RUN_STAMP)

setup: $(STAMP)  ## create the virtualenv and install Kuager with its test tools
	$(BIN)/pybabel compile -d translations -D messages

run: $(RUN_STAMP)  ## install what running needs, serve ./instance on http://127.0.0.1:8470/ (PORT=…)
	$(BIN)/pybabel --quiet compile -d translations -D messages
	$(BIN)/kuager --data $(DATA) serve --host 127.0.0.1 --port $(PORT)

test: setup  ## the whole test suite
	$(BIN)/python -m pytest

lint:  setup ## ruff and mypy
	$(BIN)/ruff check app crypto tests bench
	$(BIN)/mypy crypto

translations: setup  ## extract strings, update the catalogs, compile them
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --sort-output \
		--add-comments=Translators: -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
		-k cli_gettext -k cli_ngettext:1,2 -o translations/messages.pot app
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages \
		--no-fuzzy-matching --ignore-pot-creation-date --ignore-obsolete
	$(BIN)/pybabel compile -d translations -D messages --statistics

check-strings: setup  ## fail if a catalog is stale, incomplete or fuzzy
	$(BIN)/python -m pytest -q tests/test_i18n.py

bench: setup  ## benchmarks against the reference age tool (prints tables)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.export_store
	$(BIN)/python -m bench.exchange
	$(BIN)/python -m bench.usb_kit

usb: setup  ## build dist/kuager-usb/ (PyInstaller, one folder) to copy onto a USB stick
	$(BIN)/python deploy/usb/build.py --out dist/kuager-usb

# Screenshots for the guides, taken by headless Chromium (apt-get install chromium
# chromium-driver) from throw-away stores of fictional reports, into docs/screens/.
.PHONY: review-screens training-screens
review-screens: setup  ## screenshots for docs/REVIEW.md (a real browser, fictional reports)
	$(BIN)/python docs/screens/review_screens.py

training-screens: setup  ## screenshots for docs/TRAINING*.md in kk, ru and en (a real browser)
	$(BIN)/python docs/screens/training_screens.py

LOCK_OPTIONS := --quiet --allow-unsafe --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links

lock: setup  ## renew requirements.lock and requirements-test.lock (pip-tools, with hashes)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile $(LOCK_OPTIONS) --output-file requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_OPTIONS) --extra test --extra usb --output-file requirements-test.lock pyproject.toml

reliability: setup  ## crash rounds, fuzzing, exchange benchmarks: figures into docs/RELIABILITY.md
	$(BIN)/python -m bench.reliability

clean:  ## remove the virtualenv and caches (never ./instance)
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
