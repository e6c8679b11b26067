"""``cassis-lite info FILE [--format json]`` on the real samples and a real cube."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from paths import FIXTURES as DATA
from paths import SAMPLES

KEYS = ("format", "n_channels", "x_min", "x_max", "x_unit", "freq_min_mhz", "freq_max_mhz", "y_unit",
        "vlsr_kms", "rest_freq_mhz", "beam_arcsec")


def info(*args):
    proc = subprocess.run([sys.executable, "-m", "cassis_lite", "info", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    return proc


def test_info_json_lis():
    proc = info(SAMPLES / "I16293_Synthetic_CO.lis", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert all(k in d for k in KEYS)
    assert d["format"] == "cassis-lis" and d["n_channels"] == 2482 and d["x_unit"] == "MHz"
    assert d["y_unit"] == "K" and d["vlsr_kms"] == 3.8 and d["beam_arcsec"] is None
    assert d["x_min"] == 550899.013077502 and d["freq_max_mhz"] == 1152035.423902
    assert d["shape"] is None and d["rest_freq_mhz"] is None and len(d["window_rest_freq_mhz"]) == 4


def test_info_json_profile_and_text():
    d = json.loads(info(SAMPLES / "41505_28502_147_220GHz.txt", "--format", "json").stdout)
    assert d["format"] == "cassis-profile" and d["n_channels"] == 2002 and d["vlsr_kms"] == 3.0
    assert d["telescopes"] == {"iram": [100000.0, 150000.0], "jcmt": [200000.0, 300000.0]}
    text = info(SAMPLES / "41505_28502_147_220GHz.txt").stdout
    assert "cassis-profile" in text and "2002" in text


def test_info_json_cube_has_shape():
    spec = importlib.util.find_spec("pyspeckit")  # a locked test dependency
    cube = Path(spec.submodule_search_locations[0]) / "tests" / "data" / "region5_hcn_crop.fits"
    d = json.loads(info(cube, "--format", "json", "--region", 10, 30, 10, 30).stdout)
    assert d["shape"] == [352, 37, 47] and d["x_unit"] == "m/s" and d["region"] == [10, 30, 10, 30]
    assert d["rest_freq_mhz"] == pytest.approx(88631.8473) and d["beam_arcsec"] == pytest.approx([36.0, 36.0])
    assert d["freq_min_mhz"] < d["rest_freq_mhz"] < d["freq_max_mhz"]


def test_info_json_fits_table():
    d = json.loads(info(DATA / "alfalfa_sp.fits", "--format", "json").stdout)
    assert d["format"] == "fits" and d["n_channels"] == 1024 and d["y_unit"] == "mJy"
    assert d["rest_freq_mhz"] == 1420.4058 and d["x_column"] == "FREQ"
