# The two commands: `make demo` (set up + grade the sample submissions) and `make test` (whole suite).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
ASSIGNMENT ?= iust-dl-1403-hw2
# The versions of every package the suite last passed with (`make lock` writes them): each install below takes
# them, so a fresh machine gets what CI tested, not what was released since.  `CONSTRAINTS=` takes the newest.
CONSTRAINTS ?= constraints.txt
PIP    := $(BIN)/pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS))

.PHONY: demo test system venv data clean lock

demo: venv
	$(BIN)/davar data $(ASSIGNMENT)
	$(BIN)/davar grade $(ASSIGNMENT) submissions/$(ASSIGNMENT) --out reports
	@echo "Reports: $(CURDIR)/reports/$(ASSIGNMENT)/<student>/report.fa.html and report.en.html"

# tox.ini's commands, run in the venv `make venv` made (tox-current-env) rather than in a second environment of
# tox's own, which installed the same packages again (~3 min of a CI run); the test tools go into the venv.
test: venv $(VENV)/test-requirements.txt
	$(BIN)/tox -e py311 --current-env

$(VENV)/test-requirements.txt: $(BIN)/davar requirements-test.txt
	$(PIP) -r requirements-test.txt tox-current-env==0.0.17
	cp requirements-test.txt $@

# From apt when we are root: bubblewrap (the sandbox), fonts and Pango (PDF reports, WeasyPrint) and
# poppler-utils (the tests read the PDFs back), Chromium and its driver (the browser tests open the reports and
# the review app in it, through Selenium).  Without root davar falls back to a weaker sandbox for
# `davar check` and refuses `davar grade` unless --allow-weak-sandbox.
APT_PACKAGES = bubblewrap fontconfig fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils \
               chromium chromium-driver
system:
	@if [ "$$(id -u)" = 0 ] && ! { command -v bwrap && command -v pdftotext && command -v chromedriver && ldconfig -p | grep -q libpangoft2; } >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); fi

venv: system $(BIN)/davar $(VENV)/course-requirements.txt

# torchvision: the CPU build of torch installed here has no torchvision (none is built for it, and PyPI's
# does not import beside it), so `make venv TORCHVISION=1` installs torch 2.14.1 with its torchvision 0.29.1
# instead: a CUDA build, which runs on a CPU too (measured: 5.6 GB against 0.9 GB, install 148 s against
# 138 s, +0.5 s CPU per kernel importing torch).  The tests (tox) keep the CPU build.
$(BIN)/davar: pyproject.toml requirements.txt $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -r requirements.txt -e .
	$(if $(TORCHVISION),$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1)
	touch $@

# What the course's notebooks may import besides the above: the packages the assignments list under
# `[environment]` (`davar requirements` prints them), installed here, at setup, never while grading.
# Again when an assignment.toml changes; the file is written once pip has installed what it lists.
$(VENV)/course-requirements.txt: $(BIN)/davar $(wildcard graders/*/assignment.toml)
	$(BIN)/davar requirements > $@.new
	$(PIP) -r $@.new
	mv $@.new $@

# After a newer set passed (`make clean test CONSTRAINTS=`): that venv's versions become constraints.txt.  A local
# version label (torch's `+cpu`) is dropped: the index a machine has decides the build, as for torch==2.13.0 above.
lock:
	{ sed -n '1,/^$$/p' $(CONSTRAINTS); $(BIN)/pip freeze --all --exclude-editable | sed 's/+[^+]*$$//'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .tox reports data
