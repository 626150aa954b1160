# The two commands of the README:
#   make book   build the book, executing every page (cached), into _build/html
#   make test   execute every page through nbmake and run the book's own tests
# Both create the virtual environment .venv from requirements.txt first.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# the pages' kernels find tensorboard (and the rest of the venv) on PATH
export PATH := $(BIN):$(PATH)
# where pages download datasets and write their outputs
export TFBOOK_DATA ?= $(CURDIR)/data
# which requires-<device> cells run: none, auto (the devices present), gpu, tpu, gpu,tpu
export TFBOOK_ACCELERATORS ?= auto

.PHONY: book test venv clean

book: $(VENV)/.installed
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

clean:
	rm -rf _build
