# The two commands: `make demo` (set up + grade the sample submissions) and `make test` (whole suite).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
ASSIGNMENT ?= iust-dl-1403-hw2

.PHONY: demo test system venv data clean

demo: venv
	$(BIN)/davar data $(ASSIGNMENT)
	$(BIN)/davar grade $(ASSIGNMENT) submissions/$(ASSIGNMENT) --out reports
	@echo "Reports: $(CURDIR)/reports/$(ASSIGNMENT)/<student>/report.fa.html and report.en.html"

test: venv
	$(BIN)/tox -e py311

# From apt when we are root: bubblewrap (the sandbox), fonts and Pango (PDF reports, WeasyPrint) and
# poppler-utils (the tests read the PDFs back).  Without root davar falls back to a weaker sandbox for
# `davar check` and refuses `davar grade` unless --allow-weak-sandbox.
APT_PACKAGES = bubblewrap fontconfig fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
system:
	@if [ "$$(id -u)" = 0 ] && ! { command -v bwrap && command -v pdftotext && ldconfig -p | grep -q libpangoft2; } >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); fi

venv: system $(BIN)/davar

$(BIN)/davar: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.txt -e .
	touch $@

clean:
	rm -rf $(VENV) .tox reports data
