# Talonario developer tasks.  `make run`, `make test`, `make run PORT=8000`.

PORT ?= 5000
HOST = 127.0.0.1
PYTHON ?= python3
VENV = .venv
PYTEST_ARGS ?=

BIN = $(VENV)/bin
PO_FILES = translations/*/LC_MESSAGES/messages.po

.PHONY: install translations messages run chromium test lint bench clean

install: $(VENV)/.installed

# The app alone (what `make run` needs); re-run only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

# The app plus the test extras (pytest, Playwright's Python package, ruff).
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Compile the Babel catalogs (.po -> .mo); nothing to do when there are none.
translations: $(VENV)/.installed
	@if ls $(PO_FILES) >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d translations; \
	else \
		echo "translations: no $(PO_FILES), nothing to compile"; \
	fi

# For developers: refresh the template and merge it into the catalogs.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output --ignore-dirs ".* ._ tests bench migrations instance" -o translations/messages.pot .
	@if ls $(PO_FILES) >/dev/null 2>&1; then \
		echo "$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching"; \
		$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching; \
	else \
		echo "messages: no catalogs yet; start one with" \
			"$(BIN)/pybabel init -i translations/messages.pot -d translations -l LOCALE"; \
	fi

# Local development server over plain HTTP, hence non-Secure session cookies
# unless TALONARIO_SESSION_COOKIE_SECURE says otherwise.
run: $(VENV)/.installed translations
	$(BIN)/flask --app app db upgrade
	exec env TALONARIO_SESSION_COOKIE_SECURE="$${TALONARIO_SESSION_COOKIE_SECURE:-false}" \
		$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

# Debian tools the tests drive: headless Chromium (not Playwright's download), pdftotext and
# pdftoppm (poppler-utils) to read the PDFs, zbarimg (zbar-tools) to decode their QR codes.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftotext ] || [ ! -x /usr/bin/zbarimg ]; then \
		if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
		set -x; \
		$$sudo apt-get -o DPkg::Lock::Timeout=600 update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y chromium fonts-dejavu-core \
			poppler-utils zbar-tools; \
	fi

# PostgreSQL and Redis come from scripts/test-services.sh (existing ones, or throwaway ones).
test: $(VENV)/.installed-test translations chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	bash scripts/test-services.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-test translations
	@set -- bench/[!_]*.py; \
	if [ ! -e "$$1" ]; then echo "bench: no bench/*.py, nothing to run"; exit 0; fi; \
	bash scripts/test-services.sh sh -ec \
		'for f in "$$@"; do echo "== $$f" >&2; $(BIN)/python "$$f"; done' sh "$$@"

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	find translations -name '*.mo' -delete
	rm -rf $(VENV) .venv-interop .pytest_cache .ruff_cache build *.egg-info tests/browser/artifacts
