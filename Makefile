# The two commands of the README:
#   make run    set up and start the server with the editor
#   make test   set up and run every test
PY := .venv/bin/python

.PHONY: run test setup setup-test lint web

setup:
	bash scripts/setup.sh
	bash scripts/build_web.sh

setup-test:
	bash scripts/setup.sh --test
	bash scripts/test_tools.sh
	bash scripts/build_web.sh

web:
	bash scripts/build_web.sh

run: setup
	$(PY) main.py $(ARGS)

test: setup-test
	$(PY) -m ruff check .
	$(PY) -m pytest -q -n 2

lint: setup-test
	$(PY) -m ruff check .
