# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# `auditor demo` exits 1 because the demo division has planted findings: make prints the code and its
# meaning and succeeds for 0 (clean), 1 (findings) and 3 (incomplete); any other code fails make.
AUDITOR ?= $(BIN)/auditor
DEMO_OUTPUT ?= demo-output

demo: $(STAMP)
	@$(AUDITOR) demo --output $(DEMO_OUTPUT); code=$$?; \
	case $$code in \
	  0) echo "auditor demo: exit code 0 = clean, no open findings at or above the fail threshold." ;; \
	  1) echo "auditor demo: exit code 1 = open findings at or above the fail threshold (the demo division's planted breaches); the demo itself worked." ;; \
	  3) echo "auditor demo: exit code 3 = audit incomplete, some accounts were not fully read (see the report's coverage)." ;; \
	  *) echo "auditor demo: exit code $$code = the demo failed (2 bad input, 4 notification failed, 75 another run holds the lock)." >&2; exit $$code ;; \
	esac

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo-output reports var .pytest_cache .mypy_cache .ruff_cache
