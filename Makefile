# surveylib: `make survey` builds the survey from the shipped corpus; `make test` runs the tests.
# Both set up everything they need on a fresh machine (a virtual environment, and the Debian
# packages for TeX, pandoc and Chromium where a step needs them).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# Debian packages: TeX for bibtex/biber/xelatex, pandoc, Chromium for the HTML tests, pdftotext.
APT_PACKAGES := texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
                texlive-bibtex-extra biber latexmk lmodern fonts-noto-cjk pandoc chromium poppler-utils
# One command per package above, to see what is missing without asking apt.
APT_COMMANDS := xelatex bibtex biber latexmk pandoc chromium pdftotext kpsewhich

.PHONY: survey test pdf lab bench venv system-deps clean help

help:
	@echo "make survey   set up and build the survey (build/survey.html)"
	@echo "make test     set up and run the tests"
	@echo "make pdf      build build/latex/ and build/survey.pdf (installs TeX Live, pandoc)"
	@echo "make lab      open the notebooks in JupyterLab"
	@echo "make bench    run the benchmarks (bench/results.md)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

system-deps:
	@missing=""; for c in $(APT_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages (missing:$$missing)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

survey: venv
	$(BIN)/survey bib
	$(BIN)/survey taxonomy
	$(BIN)/survey build --to html

pdf: venv system-deps
	$(BIN)/survey build --to latex,pdf

test: venv system-deps
	$(BIN)/python -m pytest -q

lab: venv
	$(BIN)/jupyter lab notebooks/

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf build/* $(VENV)
