"""The bundled line database for LTE tests (built by `make db`; `make test` builds it first)."""

import pytest


@pytest.fixture(scope="session")
def line_db():
    linedb = pytest.importorskip("cassis_lite.linedb")
    path = linedb.default_database_path()
    if not path.exists():
        pytest.skip(f"line database {path} not built (run `make db`)")
    return linedb.LineDatabase(path)
