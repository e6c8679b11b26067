"""Fuzzing the readers with hypothesis: random bytes, mutated real files, random FITS headers and
random text tables. Every input must give either a valid Spectrum or a one-line ReadError naming
the file -- never another exception. ``FUZZ_EXAMPLES`` (default 150) sets examples per strategy;
the last test prints how many inputs were tried."""

import gzip
import io
import os
import warnings

import numpy as np
from astropy.io import votable as avot
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cassis_lite.readers import ReadError, read_spectrum
from cassis_lite.spectrum import Spectrum
from paths import FIXTURES as DATA
from paths import SAMPLES

N = int(os.environ.get("FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=N, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TRIED = {"inputs": 0, "spectra": 0, "errors": 0, "fallback": 0}


def _votable_binary2() -> bytes:
    t = Table([np.linspace(1.0, 2.0, 40), np.sin(np.arange(40.0))], names=("FREQ", "FLUX"))
    t["FREQ"].unit = "GHz"
    vt = avot.from_table(t)
    vt.set_all_tables_format("binary2")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vt.to_xml(buf)
    return buf.getvalue()


SEEDS = {
    "alfalfa_sp.fits": (DATA / "alfalfa_sp.fits").read_bytes(),
    "specexample1.fits": (DATA / "specexample1.fits").read_bytes(),
    "sdss.fits": (DATA / "SDSSJ220248.31+123656.3.fits").read_bytes()[:20160],  # header + part
    "xshooter.fits.gz": (DATA / "XShooter_XQ100.fits.gz").read_bytes(),
    "svo.xml": (DATA / "svo_2MASS_H.xml").read_bytes(),
    "binary2.xml": _votable_binary2(),
    "co.lis": (SAMPLES / "I16293_Synthetic_CO.lis").read_bytes()[:6000],
    "profile.txt": (SAMPLES / "41505_28502_147_220GHz.txt").read_bytes()[:5000],
    "small.fits.gz": gzip.compress((DATA / "specexample1.fits").read_bytes()),
}


def check(data: bytes, name: str = "fuzz.dat"):
    TRIED["inputs"] += 1
    try:
        sp = read_spectrum(data, name=name)
    except ReadError as exc:
        msg = str(exc)
        assert msg.startswith(name + ":") and "\n" not in msg, msg
        TRIED["errors"] += 1
        if "corrupt or unsupported" in msg:  # reached the registry's safety net
            TRIED["fallback"] += 1
        return
    assert isinstance(sp, Spectrum)
    f = sp.freq_mhz
    assert f.ndim == 1 and f.size >= 1 and f.shape == sp.intensity.shape == sp.x_original.shape
    assert np.all(np.isfinite(f)) and np.all(f > 0) and np.all(np.diff(f) >= 0)
    assert np.isfinite(sp.intensity).any()
    sp.summary()
    TRIED["spectra"] += 1


@SETTINGS
@given(st.binary(max_size=6000))
def test_random_bytes(data):
    check(data)


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=8)),
                                                  min_size=1, max_size=6),
       st.one_of(st.just(1.0), st.floats(0.05, 1.0)))
def test_mutated_real_files(seed, edits, keep):
    data = bytearray(SEEDS[seed])
    for where, junk in edits:
        i = int(where * (len(data) - 1))
        data[i:i + len(junk)] = junk
    data = bytes(data[:max(1, int(len(data) * keep))]) if keep < 0.98 else bytes(data)
    check(data, seed)


CARD_KEYS = ["BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "CTYPE1", "CTYPE3", "CRVAL1", "CDELT1",
             "CRPIX1", "CUNIT1", "RESTFRQ", "BSCALE", "BZERO", "BLANK", "CD1_1", "DC-FLAG", "PCOUNT",
             "GCOUNT", "XTENSION", "TFIELDS", "TFORM1", "TTYPE1", "TUNIT1", "BMAJ"]
VALUES = st.one_of(st.integers(-70, 300), st.sampled_from([8, 16, 32, 64, -32, -64, 0, 1, 2, 3]),
                   st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["'FREQ'", "'VRAD'", "'WAVE-LOG'", "'LINEAR'", "'AWAV'", "'Hz'", "'km/s'",
                                    "'BINTABLE'", "'1024D'", "'E'", "'PE()'", "'FLUX'", "T", "F", "''", "'"]))


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(CARD_KEYS), VALUES), max_size=14), st.integers(0, 4),
       st.binary(max_size=64))
def test_random_fits_headers(cards, n_data_blocks, fill):
    text = "SIMPLE  =                    T".ljust(80)
    for key, value in cards:
        v = repr(value) if isinstance(value, float) else str(value)
        text += f"{key:<8}= {v:>20}"[:80].ljust(80)
    text += "END".ljust(80)
    header = (text + " " * (-len(text) % 2880)).encode("ascii", "replace")
    body = (fill or b"\x00") * (2880 * n_data_blocks // max(1, len(fill or b"\x00")) + 1)
    check(header + body[:2880 * n_data_blocks], "random.fits")


TOKENS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                   st.sampled_from(["freq", "(GHz)", "[MHz]", "T (K)", "velo", "km/s", "#", "//", ",", ";",
                                    "# unitx: GHz", "// vlsr : 3", "#xLabel: frequency [MHz]", "FreqLsb",
                                    "Intensity", "nan", "-", "1e308", "0", "\t", "é"]))


@SETTINGS
@given(st.lists(st.lists(TOKENS, min_size=1, max_size=5).map(" ".join), min_size=1, max_size=30))
def test_random_text_tables(lines):
    check("\n".join(lines).encode("utf-8"), "random.txt")


def test_zz_report_inputs_tried():
    print(f"\nfuzz: {TRIED['inputs']} inputs tried, {TRIED['spectra']} read as spectra, "
          f"{TRIED['errors']} refused with ReadError ({TRIED['fallback']} through the safety net)")
    if TRIED["inputs"]:
        assert TRIED["errors"] > 0
