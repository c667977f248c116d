# tf-crnn: the two commands of the README, and a few helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_TRAIN := $(VENV)/.installed-train
STAMP_TEST := $(VENV)/.installed-test
STAMP_MODELS := $(VENV)/.installed-models
MODELS ?= printed-latin historical-latin

.PHONY: train test models lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_TRAIN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP_TRAIN)

## make train: create .venv if needed, install, and run the default experiment (config.json)
train: $(STAMP_TRAIN)
	$(BIN)/python training.py with config.json

## make test: create/update .venv with the test extras and run the test suite
test: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

$(STAMP_MODELS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[models]"
	touch $@ $(STAMP_TRAIN)

## make models: install the training fonts, train each shipped model (resuming), measure it on real lines
## and package its export into tf_crnn/pretrained/ (hours on a CPU; run again after an interruption)
models: $(STAMP_MODELS)
	for model in $(MODELS); do $(BIN)/python models/build.py all $$model || exit 1; done

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP_TEST)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) output data/synthetic .pytest_cache
