# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
BIN         := $(VENV)/bin
HOST        ?= 127.0.0.1
PORT        ?= 8000
# Small models on few cores run far faster single-threaded; tests pin threads themselves too.
export OMP_NUM_THREADS ?= 1

.PHONY: install browser run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The stamp re-installs when pyproject changes. torch first: a looser spec would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/loraport serve --host $(HOST) --port $(PORT)

# The browser test drives Debian's Chromium through Playwright (never `playwright install`: it downloads).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and cannot be installed here: the browser test will be skipped"; fi; }

test: install browser
	$(BIN)/python -m pytest -q

# As modules (python -m bench.NAME): run as a script, bench/inspect.py would shadow the stdlib `inspect`.
bench: install
	for b in bench/*.py; do m=$$(basename $$b .py); echo "== bench.$$m"; $(BIN)/python -m bench.$$m || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
