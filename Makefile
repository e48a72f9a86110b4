# Two commands for a fresh machine:
#   make demo   creates .venv, installs zhclean, cleans samples/ into out/
#   make test   installs the test extras (Ray included) and runs the test suite
PYTHON ?= python3
VENV ?= .venv
SOURCES := setup.cfg pyproject.toml constraints.txt $(shell find pipeline rules -name '*.py' -o -name '*.txt' -o -name '*.tsv' -o -name '*.toml')

.PHONY: demo test dev clean

demo: $(VENV)/.installed
	mkdir -p out
	$(VENV)/bin/zhclean run samples/ -o out/samples.jsonl --rejects out/samples.rejects.jsonl \
		--report out/samples.report.html --verbose
	@echo "clean records: out/samples.jsonl   rejects: out/samples.rejects.jsonl   report: out/samples.report.html"

test: $(VENV)/.installed-test
	$(VENV)/bin/pytest -q

# An editable install for working on zhclean itself.
dev: $(VENV)/bin/python
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[test,ray]'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python $(SOURCES)
	$(VENV)/bin/pip install -q -c constraints.txt .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/python $(SOURCES)
	$(VENV)/bin/pip install -q -c constraints.txt '.[test,ray]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) out build *.egg-info
