"""VOTable reader (xml.etree + NumPy) against astropy.io.votable: a real SVO spectrum, real FITS
spectra re-serialised by astropy as TABLEDATA / BINARY / BINARY2, and astropy's own regression
VOTable (every numeric scalar column, nulls included)."""

import io
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.io import votable as avot
from astropy.table import Table

from cassis_lite.readers import ReadError, read_spectrum
from cassis_lite.readers import votable as ours

DATA = Path(__file__).parent / "data"
ASTROPY_VOT = Path(avot.__file__).parent / "tests" / "data"


def test_svo_filter_profile_tabledata():
    path = DATA / "svo_2MASS_H.xml"
    sp = read_spectrum(path)
    ref = avot.parse_single_table(path).to_table()
    assert sp.format == "votable" and sp.meta["serialization"] == "tabledata"
    assert sp.x_unit == "Angstrom" and sp.n_channels == len(ref) == 58
    assert sp.meta["x_field"] == "Wavelength" and sp.meta["y_field"] == "Transmission"
    np.testing.assert_array_equal(sp.x_original[::-1], np.asarray(ref["Wavelength"], float))
    np.testing.assert_array_equal(sp.intensity[::-1], np.asarray(ref["Transmission"], float))


def _votable_bytes(table: Table, fmt: str) -> bytes:
    vt = avot.from_table(table)
    vt.set_all_tables_format(fmt)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vt.to_xml(buf)
    return buf.getvalue()


@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")
@pytest.mark.parametrize("fmt", ["tabledata", "binary", "binary2"])
def test_real_spectrum_in_every_serialisation(fmt):
    with fits.open(DATA / "XShooter_XQ100.fits.gz") as hdul:
        d = hdul[1].data[0]
        wave, flux, err = (np.asarray(d[k], np.float64) for k in ("WAVE", "FLUX", "ERR_FLUX"))
    flux[5] = np.nan  # a blank channel survives every serialisation
    t = Table([wave, flux, err], names=("WAVE", "FLUX", "ERR_FLUX"))
    t["WAVE"].unit = "nm"
    t["FLUX"].unit = "erg / (s cm2 nm)"
    data = _votable_bytes(t, fmt)
    sp = read_spectrum(data, name=f"x.{fmt}.xml")
    ref = avot.parse_single_table(io.BytesIO(data)).to_table()
    assert sp.meta["serialization"] == fmt and sp.x_unit == "nm"
    np.testing.assert_array_equal(sp.x_original[::-1], np.asarray(ref["WAVE"], float))
    np.testing.assert_array_equal(sp.intensity[::-1], np.asarray(ref["FLUX"].filled(np.nan), float))
    np.testing.assert_array_equal(sp.uncertainty[::-1], np.asarray(ref["ERR_FLUX"], float))
    assert np.isnan(sp.intensity[::-1][5])


@pytest.mark.parametrize("fmt", ["tabledata", "binary", "binary2"])
def test_one_row_array_spectrum_with_params(fmt):
    with fits.open(DATA / "alfalfa_sp.fits") as hdul:
        row = hdul[1].data[0]
        freq, flux = np.asarray(row["FREQ"], float), np.asarray(row["FLUXDENS"], float)
    t = Table([[freq], [flux]], names=("FREQ", "FLUXDENS"))
    t["FREQ"].unit = "MHz"
    t["FLUXDENS"].unit = "mJy"
    t.meta["restfreq"] = 1420405800.0
    vt = avot.from_table(t)
    vt.set_all_tables_format(fmt)
    table = vt.get_first_table()
    table.params.append(avot.tree.Param(vt, name="restfreq", datatype="double", value=1420405800.0, unit="Hz"))
    table.params.append(avot.tree.Param(vt, name="vlsr", datatype="double", value=1500.0, unit="m/s"))
    table.params.append(avot.tree.Param(vt, name="bmaj", datatype="double", value=0.0575, unit="deg"))
    table.params.append(avot.tree.Param(vt, name="bmin", datatype="double", value=3.1, unit="arcmin"))
    buf = io.BytesIO()
    vt.to_xml(buf)
    sp = read_spectrum(buf.getvalue(), name="alfalfa.xml")
    np.testing.assert_array_equal(sp.freq_mhz, np.sort(freq))
    np.testing.assert_array_equal(sp.intensity, flux[np.argsort(freq)])
    assert sp.y_unit == "mJy" and sp.rest_freq_mhz == pytest.approx(1420.4058) and sp.vlsr_kms == 1.5
    assert sp.beam_arcsec == pytest.approx(((0.0575 * u.deg).to_value(u.arcsec), (3.1 * u.arcmin).to_value(u.arcsec)),
                                           rel=1e-15)


@pytest.mark.parametrize("fmt", ["binary", "binary2"])
def test_generic_decoder_matches_astropy_on_regression_votable(fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vt = avot.parse(ASTROPY_VOT / "regression.bin.tabledata.truth.1.3.xml")  # BINARY2 needs 1.3
        vt.set_all_tables_format(fmt)
        buf = io.BytesIO()
        vt.to_xml(buf)
        data = buf.getvalue()
        ref = avot.parse(io.BytesIO(data)).get_first_table()
    tables = ours.parse(data)
    mine = tables[0]
    assert mine.n_rows == len(ref.array)
    checked = 0
    for f in mine.fields:
        if f.datatype not in ("short", "int", "long", "float", "double", "unsignedByte") or f.arraysize:
            continue
        col = ref.array[f.name]
        expect = np.asarray(np.ma.filled(col.astype(float), np.nan), float)
        np.testing.assert_array_equal(mine.columns[f.name], expect, err_msg=f.name)
        checked += 1
    assert checked >= 5


def test_votable_errors():
    with pytest.raises(ReadError, match="invalid XML"):
        read_spectrum(b"<?xml version='1.0'?><VOTABLE><RESOURCE>", name="t.xml")
    with pytest.raises(ReadError, match="no spectral field"):
        read_spectrum((ASTROPY_VOT / "names.xml").read_bytes() if (ASTROPY_VOT / "names.xml").exists()
                      else b"<VOTABLE><RESOURCE><TABLE><FIELD name='a' datatype='int'/><DATA><TABLEDATA>"
                           b"<TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>", name="n.xml")
    bad_b64 = (b"<VOTABLE><RESOURCE><TABLE><FIELD name='FREQ' datatype='double' unit='GHz'/>"
               b"<FIELD name='FLUX' datatype='double'/><DATA><BINARY><STREAM encoding='base64'>"
               b"AAAA*AAA</STREAM></BINARY></DATA></TABLE></RESOURCE></VOTABLE>")
    with pytest.raises(ReadError, match="base64"):
        read_spectrum(bad_b64, name="b.xml")
    short = (b"<VOTABLE><RESOURCE><TABLE><FIELD name='FREQ' datatype='double' unit='GHz'/>"
             b"<FIELD name='FLUX' datatype='double'/><DATA><BINARY><STREAM encoding='base64'>"
             b"AAAAAAAAAAAA</STREAM></BINARY></DATA></TABLE></RESOURCE></VOTABLE>")
    with pytest.raises(ReadError, match="truncated"):
        read_spectrum(short, name="s.xml")
    beam = (b"<VOTABLE><RESOURCE><TABLE><PARAM name='bmaj' datatype='double' unit='furlong' value='3'/>"
            b"<FIELD name='FREQ' datatype='double' unit='GHz'/><FIELD name='FLUX' datatype='double'/>"
            b"<DATA><TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    with pytest.raises(ReadError, match="beam PARAM: unknown angle unit 'furlong'"):
        read_spectrum(beam, name="beam.xml")
    bomb = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><VOTABLE>&a;</VOTABLE>"
    with pytest.raises(ReadError, match="entity"):
        read_spectrum(bomb, name="e.xml")
