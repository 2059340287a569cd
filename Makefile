# The course's commands. Every target that needs Python first makes sure .venv matches requirements.txt
# (tools/course.py: it checks the interpreter and the network first, installs with uv, and swaps the new .venv in
# only once it works).
#   make lab      set up, then open the course in JupyterLab (or show the address of the one already running)
#   make test     set up, then lint (ruff) and run every test: unit tests, and nbval over every notebook, in parallel
#   make outputs  re-execute notebooks and store their outputs (all, or NB=notebooks/02_cross_entropy.ipynb)
#   make images   redraw the figures in images/ from images/make_images.py
#   make handout  build handout/student/ and handout/instructor/: HTML pages, index, PDF, student notebooks
#   make slides   build handout/slides/: one reveal.js deck per notebook (no solutions) and index.html, offline
#   make grade    grade students' notebooks with the course's checkers: SUBMISSIONS=DIR (e.g. GRADE_ARGS="--timeout 120"; default 300 s)
#   make bench    measurements: large-vocabulary memory/time (BENCH_ARGS="--n 2048" to change the shape;
#                 BENCH_ARGS=--record re-measures what notebook 09 shows, then make outputs NB=notebooks/09_*),
#                 how closely softmax_ce agrees with torch for every option combination, and the vocabulary-parallel
#                 loss's per-rank memory, time and communication for P = 1, 2, 4 ranks (VP_BENCH_ARGS="--n 4096" to
#                 change the shape; VP_BENCH_ARGS=--record re-measures what notebook 11 shows, under 2 minutes),
#                 sampled softmax's time and bias (SS_BENCH_ARGS) and gradient filtering's speed and error
#                 (GF_BENCH_ARGS), each with --record for what notebook 12 shows
#   make suite-time  where the test suite's time goes: per-notebook nbval times, serial vs parallel, slowest files
#   make setup-time  how long a fresh clone's set-up takes (several fresh clones, median)
#   make hooks    for maintainers, once per clone: pre-commit's hooks, and git's clean filter that stores notebooks tidy
# Knobs: PYTHON=python3.12 (the interpreter for .venv), TORCH=cpu (PyTorch's CPU-only build; remembered),
#        INSTALLER=pip (instead of uv: slower, for a network only pip is set up for),
#        LAB_ARGS=--no-browser (more options for JupyterLab), LAB_ROOT=DIR (serve another copy of the course).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NB     ?= notebooks/[0-9]*.ipynb
LAB_ROOT ?= .
# Some machines set PYTHONDONTWRITEBYTECODE; without bytecode caches every test process recompiles the test modules
# and the plugin modules pytest rewrites (hypothesis, nbval, ...), about a second each. __pycache__ is git-ignored.
unexport PYTHONDONTWRITEBYTECODE
# PYTHON given on the command line or in the environment: a .venv built with another interpreter is rebuilt
COURSE = $(PYTHON) tools/course.py $(if $(TORCH),--torch $(TORCH)) $(if $(INSTALLER),--installer $(INSTALLER)) \
         $(if $(filter command line environment,$(origin PYTHON)),--this-python)

.PHONY: setup lab test outputs images handout bench suite-time setup-time hooks clean

# (Re)build .venv when it is missing or was built from a different requirements.txt; a failed build keeps the old one.
setup:
	@$(COURSE) setup

# The server's root is the repository so that notebooks can show ../images/; the browser opens on notebooks/.
# Token authentication stays on; JupyterLab's news pop-up is off (tools/jupyterlab/overrides.json).
lab:
	@$(COURSE) lab --root $(LAB_ROOT) $(LAB_ARGS)

# ruff, then the README's pytest command (both in tools/course.py, which Windows runs without make)
test:
	@$(COURSE) test

outputs: setup
	$(BIN)/python tools/outputs.py $(NB)

images: setup
	$(BIN)/python images/make_images.py

handout: setup
	$(BIN)/python tools/handout.py

# reveal.js 4.6.1 (pinned, integrity-checked) is downloaded once into ~/.cache/softmax-ce/; later builds need no network.
# Some decks only: .venv/bin/python tools/slides.py --only 01 02
.PHONY: slides
slides: setup
	$(BIN)/python tools/slides.py

# DIR/<student>_<NN_topic>.ipynb or DIR/<student>/<NN_topic>.ipynb; writes DIR/grades.csv and DIR/grades.html
.PHONY: grade
grade: setup
	$(BIN)/python tools/grade.py $(SUBMISSIONS) $(GRADE_ARGS)

bench: setup
	$(BIN)/python benchmarks/large_vocab.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/torch_agreement.py
	$(BIN)/python benchmarks/vocab_parallel.py $(VP_BENCH_ARGS)
	$(BIN)/python benchmarks/sampled_softmax.py $(SS_BENCH_ARGS)
	$(BIN)/python benchmarks/gradient_filtering.py $(GF_BENCH_ARGS)

suite-time: setup
	$(BIN)/python benchmarks/suite_time.py

setup-time: setup
	$(BIN)/python benchmarks/setup_time.py $(SETUP_TIME_ARGS)

# git add then stores each notebook through tools/outputs.py --clean (.gitattributes); the commit hooks lint and check
hooks: setup
	$(BIN)/pre-commit install
	git config filter.course-notebook.clean ".venv/bin/python tools/outputs.py --clean"

# Deletes only what the set-up and the tests made: a .venv without the set-up's stamp is left alone
clean:
	@if [ -e $(VENV) ] && [ ! -e $(VENV)/requirements.installed ]; then \
	  echo "make clean: $(VENV) was not made by the set-up (no requirements.installed): delete it yourself"; exit 2; fi
	rm -rf $(VENV) .venv.partial.log .hypothesis
