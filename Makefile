# The two commands of the README:
#   make book   build the book, executing every page (cached), into _build/html
#   make test   execute every page through nbmake and run the book's own tests
# Both create the virtual environment .venv from requirements.txt first.

PYTHON ?= python3.13
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
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || { \
	  echo "make: the book needs Python 3.13 (as Colab runs); '$(PYTHON)' is not it."; \
	  echo "      Install Python 3.13, or name it: make PYTHON=/path/to/python3.13 ..."; exit 2; }
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet $$(grep '^uv==' requirements.txt)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.txt
	touch $@

clean:
	rm -rf _build
