# CASSIS lite: `make serve` builds everything and serves the app; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DB := cassis_lite/data/cassis_lite.db
SITE := site
# One BLAS thread: on 2 cores, threaded OpenBLAS under load made small SVDs ~50x slower.
export OPENBLAS_NUM_THREADS := 1

.PHONY: serve test venv db site chromium bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

$(DB): $(VENV)/.installed build_scripts/build_linedb.py data/sources.json cassis_lite/constants.py cassis_lite/linedb/formats.py cassis_lite/linedb/schema.py
	$(PY) build_scripts/build_linedb.py --out $(DB)

db: $(DB)

site: $(DB)
	$(PY) build_scripts/build_site.py --out $(SITE)

# Browser tests use Debian's Chromium (never a browser downloaded by a test tool).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

serve: site
	$(PY) -m cassis_lite serve --dir $(SITE) --host 127.0.0.1 --port $(PORT)

test: site chromium
	$(PY) -m pytest

bench: site chromium
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(SITE) $(DB) build dist *.egg-info
