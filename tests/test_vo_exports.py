"""VOTable and FITS exports of spectra, LTE models and line tables (cassis_lite.vo): astropy reads them
with ``verify='exception'`` and every warning an error (units, UCDs, utypes, nulls are valid), its
values equal ours, and our readers read them back exactly. Unit conversions are checked against
astropy.units."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import parse

from cassis_lite.linedb import Transitions
from cassis_lite.readers import read_spectrum
from cassis_lite.vo import exports, linelist
from paths import ROOT, SAMPLES
from vo_cli import run_cli

SERIALIZATIONS = ("tabledata", "binary2")
NUMERIC = ("freq_mhz", "err_mhz", "aij", "eup_k", "elow_cm", "gup", "tags")


def strict_votable(data: bytes):
    """astropy's VOTable parser with verify='exception' and warnings raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return parse(io.BytesIO(data), verify="exception")


@pytest.fixture(scope="module")
def spectrum():
    sp = read_spectrum(SAMPLES / "I16293_Synthetic_CO.lis")
    sp.uncertainty = np.full(sp.n_channels, 0.0123456789012345)
    sp.rest_freq_mhz = 576267.9305
    sp.beam_arcsec = (37.2, 36.9)
    sp.telescope = "HIFI"
    sp.redshift = 1.5e-5
    return sp


@pytest.fixture(scope="module")
def lines(line_db):
    """Real transitions: mm lines, and UV lines whose quantum numbers hold '<' and '&'-like text."""
    a = line_db.transitions(80_000, 300_000)
    b = line_db.transitions(2.7e9, 2.78e9)
    return Transitions(**{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in Transitions.__dataclass_fields__})


def assert_same_transitions(a, b):
    assert len(a) == len(b)
    for k in NUMERIC:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    assert a.qn.tolist() == b.qn.tolist()
    assert a.species_names.tolist() == b.species_names.tolist()
    assert a.sources.tolist() == b.sources.tolist()


@pytest.mark.parametrize("serialization", SERIALIZATIONS)
def test_spectrum_votable_round_trip_and_astropy(spectrum, serialization):
    data = exports.spectrum_votable(spectrum, serialization)
    table = strict_votable(data).get_first_table()
    fields = {f.name: f for f in table.fields}
    assert fields["FREQ"].utype == "spec:Spectrum.Data.SpectralAxis.Value" and fields["FREQ"].ucd == "em.freq"
    assert fields["FLUX"].utype == "spec:Spectrum.Data.FluxAxis.Value" and fields["FLUX"].ucd == "phot.antennaTemp"
    assert fields["ERROR"].utype == "spec:Spectrum.Data.FluxAxis.Accuracy.StatError"
    assert fields["FREQ"].unit == u.MHz and fields["FLUX"].unit == u.K
    t = table.to_table()
    np.testing.assert_array_equal(t["FREQ"], spectrum.freq_mhz)
    np.testing.assert_array_equal(t["FLUX"], spectrum.intensity)
    params = {p.name: p for p in table.params}
    assert params["restfreq"].value == pytest.approx(576267.9305e6, rel=1e-15) and params["restfreq"].unit == u.Hz
    assert params["vlsr"].value == 3.8 and params["vlsr"].unit == u.km / u.s
    assert params["bmaj"].value == 37.2 and params["telescope"].value == "HIFI"
    back = read_spectrum(data, name="x.vot")
    np.testing.assert_array_equal(back.freq_mhz, spectrum.freq_mhz)
    np.testing.assert_array_equal(back.intensity, spectrum.intensity)
    np.testing.assert_array_equal(back.uncertainty, spectrum.uncertainty)
    assert back.rest_freq_mhz == 576267.9305 and back.vlsr_kms == 3.8
    assert back.redshift == 1.5e-5 and back.telescope == "HIFI" and back.y_unit == "K"
    assert back.beam_arcsec == (37.2, 36.9)


def test_spectrum_fits_carries_ucds_and_utypes(spectrum):
    data = exports.spectrum_fits(spectrum)
    with fits.open(io.BytesIO(data)) as hdul:
        hdul.verify("exception")
        h = hdul["SPECTRUM"].header
        assert (h["TUCD1"], h["TUTYP1"]) == ("em.freq", "spec:Spectrum.Data.SpectralAxis.Value")
        assert (h["TUCD2"], h["TUTYP2"]) == ("phot.antennaTemp", "spec:Spectrum.Data.FluxAxis.Value")
        assert h["TUTYP3"] == "spec:Spectrum.Data.FluxAxis.Accuracy.StatError" and h["TUNIT3"] == "K"
        np.testing.assert_array_equal(hdul["SPECTRUM"].data["ERROR"], spectrum.uncertainty)
        assert h["BMAJ"] * 3600 == pytest.approx(37.2, rel=1e-14)
    back = read_spectrum(data, name="x.fits")
    np.testing.assert_array_equal(back.intensity, spectrum.intensity)
    assert back.beam_arcsec == pytest.approx((37.2, 36.9), rel=1e-14) and back.redshift == 1.5e-5


@pytest.fixture(scope="module")
def model(line_db):
    from cassis_lite.lte import ModelConfig, compute_spectrum

    config = ModelConfig.from_dict({
        "telescope": {"diameter_m": 30.0}, "unit": "TA*", "beam_efficiency": 0.8, "forward_efficiency": 0.95,
        "components": [{"name": "c1", "tex_k": 30.0, "fwhm_kms": 2.0, "vlsr_kms": 5.0, "size_arcsec": 20.0,
                        "species": [{"species": "CO", "ntot_cm2": 1e17}]}]})
    freq = np.linspace(230_500.0, 230_560.0, 601)
    return config, compute_spectrum(config, freq, line_db, with_tau=True)


@pytest.mark.parametrize("serialization", SERIALIZATIONS)
def test_model_votable_round_trip_and_astropy(model, serialization):
    from cassis_lite.lte import ModelConfig

    config, result = model
    data = exports.model_votable(result, config, serialization)
    table = strict_votable(data).get_first_table()
    t = table.to_table()
    np.testing.assert_array_equal(t["FLUX"], result.intensity)
    np.testing.assert_array_equal(t["TAU"], result.tau)
    assert table.get_field_by_id_or_name("FLUX").unit == u.K
    assert t["TAU"].max() > 1  # CO 2-1 at 1e17 cm-2 is thick: the column is the opacity, not a copy
    params = {p.name: p.value for p in table.params}
    assert params["intensity_scale"] == "TA*"
    assert ModelConfig.from_json(params["model_config"]).to_dict() == config.to_dict()
    back = read_spectrum(data, name="m.vot")
    np.testing.assert_array_equal(back.freq_mhz, result.freq_mhz)
    np.testing.assert_array_equal(back.intensity, result.intensity)
    assert back.uncertainty is None and back.y_unit == "K"


def test_model_fits_and_jy_per_beam_unit(model, line_db):
    from cassis_lite.lte import ModelConfig, compute_spectrum

    _, result = model
    data = exports.model_fits(result)
    with fits.open(io.BytesIO(data)) as hdul:
        hdul.verify("exception")
        h = hdul["LTE_MODEL"].header
        assert h["INTSCALE"] == "TA*" and h["TUNIT2"] == "K" and h["TUCD3"] == "phys.absorption.opticalDepth"
        np.testing.assert_array_equal(hdul["LTE_MODEL"].data["TAU"], result.tau)
    np.testing.assert_array_equal(read_spectrum(data, name="m.fits").intensity, result.intensity)
    jy = ModelConfig.from_dict({"telescope": {"beam_arcsec": [1.2, 0.9]}, "unit": "Jy/beam", "components": [
        {"tex_k": 30.0, "fwhm_kms": 2.0, "species": [{"species": "CO", "ntot_cm2": 1e16}]}]})
    r = compute_spectrum(jy, np.linspace(230_530.0, 230_545.0, 51), line_db)
    table = strict_votable(exports.model_votable(r, jy)).get_first_table()
    f = table.get_field_by_id_or_name("FLUX")
    assert f.unit == u.Jy / u.beam and f.ucd == "phot.flux.density"


@pytest.mark.parametrize("serialization", SERIALIZATIONS)
def test_line_table_votable_is_valid_and_round_trips(lines, serialization):
    data = exports.lines_votable(lines, serialization)
    table = strict_votable(data).get_first_table()
    utypes = {f.utype: f.name for f in table.fields if f.utype}
    assert utypes["ssldm:Line.title"] == "title" and utypes["ssldm:Line.wavelength.value"] == "wavelength"
    assert {"ssldm:Line.species.name", "ssldm:Line.einsteinA", "ssldm:Line.initialLevel.energy",
            "ssldm:Line.finalLevel.energy"} <= set(utypes)
    t = table.to_table()
    np.testing.assert_array_equal(t["freq_mhz"], lines.freq_mhz)
    np.testing.assert_array_equal(t["aij"], lines.aij)
    assert list(t["qn"]) == lines.qn.tolist() and any("<" in q for q in t["qn"])
    np.testing.assert_array_equal(np.ma.getmaskarray(t["tag"]), lines.tags < 0)  # VALUES null="-1"
    np.testing.assert_array_equal(np.ma.getmaskarray(t["err_mhz"]), np.isnan(lines.err_mhz))
    # the SI columns, from astropy's own conversions
    np.testing.assert_allclose(t["wavelength"], (lines.freq_mhz * u.MHz).to_value(u.m, u.spectral()), rtol=1e-15)
    np.testing.assert_allclose(t["eup_j"], (lines.eup_k * u.K).to_value(u.J, u.temperature_energy()), rtol=1e-15)
    np.testing.assert_allclose(t["elow_j"], (lines.elow_cm * u.cm**-1).to_value(u.J, u.spectral()), rtol=1e-14)
    assert_same_transitions(linelist.transitions_from_votable(data), lines)


def test_line_table_fits_is_valid_and_round_trips(lines):
    data = exports.lines_fits(lines)
    with fits.open(io.BytesIO(data)) as hdul:
        hdul.verify("exception")
        hdu = hdul["LINES"]
        names = hdu.columns.names
        h = hdu.header
        i = names.index("wavelength") + 1
        assert h[f"TUTYP{i}"] == "ssldm:Line.wavelength.value" and h[f"TUNIT{i}"] == "m" and h[f"TUCD{i}"] == "em.wl"
        assert h[f"TNULL{names.index('tag') + 1}"] == -1
        np.testing.assert_array_equal(hdu.data["freq_mhz"], lines.freq_mhz)
        assert [q.rstrip() for q in hdu.data["qn"]] == lines.qn.tolist()
        assert list(hdu.data["species"]) == lines.species_names.tolist()
    assert_same_transitions(linelist.transitions_from_fits(data), lines)


@pytest.mark.parametrize("serialization", SERIALIZATIONS)
def test_non_ascii_text_becomes_unicode_char(serialization):
    t = Transitions(species_id=np.array([1, 2]), freq_mhz=np.array([1000.0, 2000.0]), err_mhz=np.array([np.nan, 0.1]),
                    aij=np.array([1e-5, 2e-5]), elow_cm=np.array([0.0, 1.0]), eup_k=np.array([0.05, 1.5]),
                    gup=np.array([3, 5]), qn=np.array(["J=1\u20130", "a & b <c>"]), species_names=np.array(["X", "Y"]),
                    tags=np.array([-1, 28503]), sources=np.array(["test", "test"]))
    data = exports.lines_votable(t, serialization)
    table = strict_votable(data).get_first_table()
    assert table.get_field_by_id_or_name("qn").datatype == "unicodeChar"
    assert list(table.to_table()["qn"]) == ["J=1\u20130", "a & b <c>"]
    assert_same_transitions(linelist.transitions_from_votable(data), t)


def test_cli_lines_and_model_export_formats(tmp_path, line_db):
    code, out, err = run_cli("lines", "--fmin", "86000", "--fmax", "90000", "--format", "csv")
    assert code == 0, err
    from_csv = linelist.transitions_from_csv(out.decode())
    assert_same_transitions(from_csv, line_db.transitions(86000, 90000))
    code, vot, _ = run_cli("lines", "--fmin", "86000", "--fmax", "90000", "--format", "votable",
                           "--serialization", "binary2")
    assert code == 0 and b"<BINARY2>" in vot
    assert_same_transitions(linelist.transitions_from_votable(vot), from_csv)
    path = tmp_path / "lines.fits"
    assert run_cli("lines", "--fmin", "86000", "--fmax", "90000", "-o", path)[0] == 0  # format from .fits
    assert_same_transitions(linelist.transitions_from_fits(path.read_bytes()), from_csv)
    js = tmp_path / "lines.json"
    assert run_cli("lines", "--fmin", "86000", "--fmax", "90000", "-o", js)[0] == 0
    assert json.loads(js.read_text())["count"] == len(from_csv)
    table = run_cli("lines", "--fmin", "86000", "--fmax", "90000")[1]  # default unchanged: an aligned table
    assert table.decode().split()[:3] == ["species", "tag", "freq_mhz"]
    proc = subprocess.run([sys.executable, "-m", "cassis_lite", "lines", "--fmin", "86000", "--fmax", "90000",
                           "--format", "votable"], capture_output=True, cwd=ROOT)  # the console entry too
    assert proc.returncode == 0 and strict_votable(proc.stdout)

    args = ["model", "--species", "CO", "--tex", "30", "--ntot", "1e17", "--fwhm", "2", "--vlsr", "5",
            "--fmin", "230500", "--fmax", "230560", "--step", "0.5", "--tau"]
    csv_model = read_spectrum(run_cli(*args)[1], name="m.csv")  # default: CSV as before
    vot_path = tmp_path / "m.vot"
    assert run_cli(*args, "-o", vot_path)[0] == 0
    back = read_spectrum(vot_path)
    assert back.format == "votable"
    np.testing.assert_array_equal(back.freq_mhz, csv_model.freq_mhz)
    np.testing.assert_allclose(back.intensity, csv_model.intensity, rtol=1e-9)  # the CSV keeps 10 digits
    code, fit, _ = run_cli(*args, "--format", "fits")
    assert code == 0 and fit[:6] == b"SIMPLE"
    strict_votable(vot_path.read_bytes())
