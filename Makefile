# The course's commands. Every target that needs Python first makes sure .venv matches requirements.txt.
#   make lab      set up, then open the course in JupyterLab
#   make test     set up, then lint (ruff) and run every test: unit tests, and nbval over every notebook, in parallel
#   make outputs  re-execute notebooks and store their outputs (all, or NB=notebooks/02_cross_entropy.ipynb)
#   make images   redraw the figures in images/ from images/make_images.py
#   make handout  build handout/student/ and handout/instructor/: HTML pages, index, PDF, student notebooks
#   make bench    measurements: large-vocabulary memory/time (BENCH_ARGS="--n 2048" to change the shape),
#                 and how closely softmax_ce agrees with torch for every option combination
#   make suite-time  where the test suite's time goes: per-notebook nbval times, serial vs parallel, slowest files

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/requirements.installed
NB     ?= notebooks/[0-9]*.ipynb
LAB_ROOT ?= .
# Some machines set PYTHONDONTWRITEBYTECODE; without bytecode caches every test process recompiles the test modules
# and the plugin modules pytest rewrites (hypothesis, nbval, ...), about a second each. __pycache__ is git-ignored.
unexport PYTHONDONTWRITEBYTECODE
# JupyterLab refuses to run as root (CI, containers) unless told to; a learner's laptop never needs this.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test outputs images handout bench suite-time clean

# (Re)build .venv when it is missing or was built from a different requirements.txt.
setup:
	@cmp -s requirements.txt $(STAMP) 2>/dev/null || $(MAKE) --no-print-directory venv

.PHONY: venv
venv:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -c "import matplotlib.pyplot"  # build matplotlib's font cache now, not inside a notebook
	cp requirements.txt $(STAMP)

# The server's root is the repository so that notebooks can show ../images/; the browser opens on notebooks/.
# Token authentication stays on. LAB_ARGS adds options, e.g. LAB_ARGS=--no-browser; LAB_ROOT serves another copy.
lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(LAB_ROOT) --LabApp.default_url=/lab/tree/notebooks $(ALLOW_ROOT) $(LAB_ARGS)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder --nbval --nbval-current-env tests notebooks

outputs: setup
	$(BIN)/python tools/outputs.py $(NB)

images: setup
	$(BIN)/python images/make_images.py

handout: setup
	$(BIN)/python tools/handout.py

bench: setup
	$(BIN)/python benchmarks/large_vocab.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/torch_agreement.py

suite-time: setup
	$(BIN)/python benchmarks/suite_time.py

clean:
	rm -rf $(VENV) .hypothesis
