# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast browser-deps cloud-stop bench lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The portal on its embedded defaults: embedded AWS emulator, SQLite in ./.sandbox.
run: install
	$(BIN)/streamlit run portal/server.py

# Debian's Chromium for the browser tests. Without root or apt the browser tests are skipped
# (and say so); CI sets PORTAL_REQUIRE_BROWSER=1 so there they must run.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
	  || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null); \
	else echo "Chromium not installable here (no root or no apt): browser tests will be skipped"; fi

test: install browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not browser"

cloud-stop: install
	$(BIN)/sandbox cloud stop

bench: install
	$(BIN)/python bench/launch.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/sign_in.py

# Re-pin every dependency after editing pyproject.toml.
lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra test --no-emit-index-url --no-emit-find-links \
	  --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
