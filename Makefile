# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast browser-deps cloud-stop bench lock clean localstack \
	translations translations-pot translations-extract translations-compile

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Korean and English (services/i18n.py): one gettext catalog per part of the tree. Strings are
# extracted from the sources into locales/<domain>.pot, merged into each language's .po (where
# translators write), and compiled to the .mo files the portal reads; `run` and `test` compile.
TRANSLATED_LOCALES := ko
TRANSLATION_DOMAINS := pages components charts services advisor templates
CHART_COMPONENTS := architecture_diagram audit_table cost_charts cost_estimate credit_chart \
	dashboard_filters environments_table health_charts health_figures roster_table
pages_SOURCES := pages portal/app.py portal/identity.py portal/locale.py portal/account_routes.py portal/oidc.py \
	portal/server.py portal/ui_context.py $(wildcard portal/templates/*.html)
charts_SOURCES := $(foreach c,$(CHART_COMPONENTS),portal/components/$(c).py)
components_SOURCES := $(filter-out $(charts_SOURCES),$(wildcard portal/components/*.py))
services_SOURCES := services
services_IGNORE := advisor
advisor_SOURCES := services/advisor
templates_SOURCES := infra_templates
PO_FILES := $(foreach l,$(TRANSLATED_LOCALES),$(foreach d,$(TRANSLATION_DOMAINS),locales/$(l)/LC_MESSAGES/$(d).po))
MO_FILES := $(PO_FILES:.po=.mo)

locales/%.mo: locales/%.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

translations-compile: $(MO_FILES)

# The strings of the sources, one .pot per domain in POT_DIR (the catalog test extracts into a
# folder of its own). One domain only: make translations-extract TRANSLATION_DOMAINS=pages
POT_DIR := locales
translations-pot: install
	@$(foreach domain,$(TRANSLATION_DOMAINS),\
	  $(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --add-comments=Translators: \
	    --project="Sandbox Portal" --copyright-holder="Sandbox Portal" \
	    --ignore-dirs=".* ._ __pycache__ $($(domain)_IGNORE)" \
	    -o $(POT_DIR)/$(domain).pot $($(domain)_SOURCES) || exit 1;)

translations-extract: translations-pot
	@$(foreach domain,$(TRANSLATION_DOMAINS),$(foreach locale,$(TRANSLATED_LOCALES),\
	  if [ -f locales/$(locale)/LC_MESSAGES/$(domain).po ]; then \
	    $(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete -D $(domain) \
	      -i locales/$(domain).pot -d locales -l $(locale) || exit 1; \
	  else $(BIN)/pybabel -q init -D $(domain) -i locales/$(domain).pot -d locales \
	    -l $(locale) || exit 1; fi;))

# New strings into the catalogs, then compiled: run after adding or changing a visible string.
translations: translations-extract translations-compile

# The portal on its embedded defaults: embedded AWS emulator, SQLite in ./.sandbox.
run: install translations-compile
	$(BIN)/streamlit run portal/server.py

# Debian's Chromium for the browser tests. Without root or apt the browser tests are skipped
# (and say so); CI sets PORTAL_REQUIRE_BROWSER=1 so there they must run.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
	  || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null); \
	else echo "Chromium not installable here (no root or no apt): browser tests will be skipped"; fi

# LocalStack for the `localstack` target (README: LocalStack): localstack-core in a virtualenv of
# its own on Python 3.13, which LocalStack needs and the portal's .venv need not be. The first
# Python 3.13 on PATH or under pyenv, unless LOCALSTACK_PYTHON names one.
LOCALSTACK_VENV := .venv-localstack
LOCALSTACK_STAMP := $(LOCALSTACK_VENV)/.installed
LOCALSTACK_PYTHON ?=

$(LOCALSTACK_STAMP): localstack.requirements
	@test -x $(LOCALSTACK_VENV)/bin/python && exit 0; \
	python="$(LOCALSTACK_PYTHON)"; \
	if [ -z "$$python" ]; then \
	  for candidate in python3.13 "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 \
	      "$$HOME"/.pyenv/versions/3.13*/bin/python3.13 /opt/homebrew/bin/python3.13; do \
	    if "$$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' \
	        >/dev/null 2>&1; then python="$$candidate"; break; fi; \
	  done; \
	fi; \
	if [ -z "$$python" ] || ! "$$python" -c 'import venv' >/dev/null 2>&1; then \
	  echo "make localstack: LocalStack needs Python 3.13, and none was found. Install one:" >&2; \
	  echo "  pyenv install 3.13 | apt-get install python3.13-venv | brew install python@3.13" >&2; \
	  echo "and run make localstack again, or name one:" >&2; \
	  echo "  make localstack LOCALSTACK_PYTHON=/path/to/python3.13" >&2; \
	  exit 1; \
	fi; \
	echo "LocalStack's virtualenv $(LOCALSTACK_VENV) on $$python"; \
	"$$python" -m venv $(LOCALSTACK_VENV)
	$(LOCALSTACK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCALSTACK_VENV)/bin/python -m pip install --quiet -r localstack.requirements
	touch $(LOCALSTACK_STAMP)

localstack: $(LOCALSTACK_STAMP)

test: install translations-compile browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install translations-compile
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not browser"

cloud-stop: install
	$(BIN)/sandbox cloud stop

bench: install browser-deps translations-compile
	$(BIN)/python bench/launch.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/sign_in.py
	$(BIN)/python bench/pages.py

# Re-pin every dependency after editing pyproject.toml.
lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra test --no-emit-index-url --no-emit-find-links \
	  --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .venv-localstack .pytest_cache .hypothesis
