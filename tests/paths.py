"""Where the tests find their inputs: all inside the repository (tests/test_repository.py checks)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: real spectra from public packages (tests/data/README.md)
FIXTURES = ROOT / "tests" / "data"
#: the two CASSIS-format samples the site bundles (data/samples/README.md)
SAMPLES = ROOT / "data" / "samples"
SITE = ROOT / "site"
