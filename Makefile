# The two commands of the README:
#   make book   build the book, executing every page (cached), into _build/html
#   make test   execute every page once through nbmake, then the book's own tests and the built book
#   make pdf    the built book as one PDF (_build/html/tensorflow2-book.pdf), from what make book built
# and the Colab check that .ci/run adds:
#   make test-colab   every Colab notebook in an environment rebuilt from Colab's package list
# Each creates what it needs (.venv from requirements.txt, .venv-colab from colab/) first.

PYTHON ?= python3.13
# the interpreter that makes the venvs, looked up before the venv's bin goes on PATH below
# (or a rebuild would find the venv's own python3.13 and clear the venv it runs from)
PYTHON_EXE := $(shell command -v $(PYTHON))
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# the pages' kernels find tensorboard and saved_model_cli (and the rest of the venv) on PATH
export PATH := $(BIN):$(PATH)
# where the book build's pages download datasets and write their outputs
export TFBOOK_DATA ?= $(CURDIR)/data
# which requires-<thing> cells run: none, auto (what is present), gpu, tpu, tfserving, or a comma list
export TFBOOK_ACCELERATORS ?= auto
COLAB_ENV := $(CURDIR)/.venv-colab
# Python writes the .pyc files of what it imports into the venvs, as it does by default. Where
# PYTHONDONTWRITEBYTECODE is set (as on our CI machines) nothing wrote them, and every kernel compiled
# TensorFlow's Python again: import 12 s instead of 4 s. The first kernels write them; compiling all
# of a venv at install instead (uv --compile-bytecode) cost 35 s, mostly for modules no page imports.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: book pdf test test-colab colab-env venv clean

book: $(VENV)/.installed
	@$(BIN)/python -m tfbook.devices "$(TFBOOK_ACCELERATORS)"
	@pages=$$($(BIN)/python -m tfbook.pytest_plugin); \
	if [ -n "$$pages" ]; then \
	  echo "executing the pages not in the cache, in parallel: $$pages"; \
	  $(BIN)/python -m pytest -p no:cacheprovider -q --durations=0 $$pages || exit 1; \
	fi
	$(BIN)/jupyter-book build . -W -n --keep-going

# Chromium prints the built site (tfbook/pdf.py): nothing is executed or built again
pdf: $(VENV)/.installed
	$(BIN)/python -m tfbook.pdf

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)
ifeq ($(PYTEST_ARGS),)
	$(BIN)/python -m pytest -n 0 -m built_book tests/test_built_book.py
endif

# Colab's runtime as far as the pages go: Python 3.13 and colab/runtime.in at the versions of
# colab/pip-freeze.txt. Rebuilt every time: the setup cell's test installs the book's versions into it.
colab-env: $(VENV)/.installed
	@grep -E '^[A-Za-z0-9_.-]+==' colab/pip-freeze.txt > $(COLAB_ENV).constraints.txt
	$(PYTHON_EXE) -m venv --clear $(COLAB_ENV)
	$(BIN)/uv pip install --quiet --python $(COLAB_ENV)/bin/python \
	  -c $(COLAB_ENV).constraints.txt -r colab/runtime.in
	@rm $(COLAB_ENV).constraints.txt

# Which ways every notebook runs: `skip` (the setup cell skipped: Colab's own TensorFlow, the way
# `make test` does not cover) and/or `setup` (after it: the versions `make test` runs). In a runtime's
# order: the environment as Colab has it, the notebooks without the setup cell, the setup cell for real
# (it installs and restarts), the notebooks after it. .ci/run: skip; the weekly workflow: both.
COLAB_WAYS ?= skip
COLAB_TESTS := $(BIN)/python -m pytest -m colab tests/test_colab_runtime.py

test-colab: colab-env
	@for way in $(or $(strip $(COLAB_WAYS)),none); do case $$way in skip|setup) ;; \
	  *) echo "make: COLAB_WAYS: unknown way '$$way'; allowed: skip, setup (or both)"; exit 2;; esac; done
	$(COLAB_TESTS) -n 0 -k environment
	$(if $(filter skip,$(COLAB_WAYS)),$(COLAB_TESTS) -k "runs_in_colab and skip" $(PYTEST_ARGS))
	$(COLAB_TESTS) -n 0 -k setup_cell
	$(if $(filter setup,$(COLAB_WAYS)),$(COLAB_TESTS) -k "runs_in_colab and setup" $(PYTEST_ARGS))

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@"$(PYTHON_EXE)" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || { \
	  echo "make: the book needs Python 3.13 (as Colab runs); '$(PYTHON)' is not it."; \
	  echo "      Install Python 3.13, or name it: make PYTHON=/path/to/python3.13 ..."; exit 2; }
	$(PYTHON_EXE) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet $$(grep '^uv==' requirements.txt)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.txt
	touch $@

clean:
	rm -rf _build .venv-colab
