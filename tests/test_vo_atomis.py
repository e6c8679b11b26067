"""ATOMIS (cassis_lite.vo.obscore, cassis_lite.vo.atomis, cassis-lite atomis) on real ALMA archive rows
(astroquery 0.4.11's test data, tests/alma_data.py) and on rows built from the ObsCore 1.1 standard.
Positions and units are checked against astropy; the window edges against the archive's own text."""

from __future__ import annotations

import io
import json
import re

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

import alma_data
from alma_data import alma_file
from cassis_lite.constants import C_LIGHT
from cassis_lite.vo import atomis
from cassis_lite.vo.obscore import ObscoreRows, parse_frequency_support, rows_from_votable
from cassis_lite.vo.sky import CoordinateError, parse_dec_deg, parse_ra_deg, separation_deg

CO10 = 115271.2018  # MHz, CDMS
#: M83 (NED: 13h37m00.919s -29d51m56.74s, v_helio 513 km/s; for this test the LSR difference is immaterial)
M83 = ("M83", "13:37:00.919", "-29:51:56.74", "513")


@pytest.fixture(scope="module")
def onerow_table():
    return alma_data.onerow_table()


@pytest.fixture(scope="module")
def onerow(onerow_table):
    return ObscoreRows({c: list(onerow_table[c]) for c in onerow_table.colnames})


@pytest.fixture(scope="module")
def onerow_votable(tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "onerow.vot"
    path.write_bytes(alma_data.onerow_votable_bytes())
    return path


def test_frequency_support_of_the_real_row(onerow, onerow_table):
    text = onerow_table["frequency_support"][0]
    wins = onerow.windows[0]
    assert [(w.fmin_mhz, w.fmax_mhz) for w in wins] == [(112350.0, 114230.0), (113810.0, 115790.0),
                                                        (114840.0, 115310.0), (114950.0, 115190.0)]
    assert [w.resolution_mhz for w in wins] == pytest.approx([1.95295, 31.24716, 0.48824, 0.12206], rel=1e-12)
    assert [w.sensitivity_10kms_mjy for w in wins] == pytest.approx([8.0, 9.9, 8.2, 8.2])
    assert [w.sensitivity_native_mjy for w in wins] == pytest.approx([0.3602, 0.4336, 0.7393, 1.0])
    assert all(w.pol == "XX YY" for w in wins)
    # the archive's own velocity_resolution (m/s) is the finest window's c x resolution / its top frequency:
    # the parser and the unit (m/s, not km/s) both confirmed, to the rounding of the text (1e-4)
    finest = min(w.velocity_resolution_kms(w.fmax_mhz) for w in wins)
    assert finest * 1e3 == pytest.approx(float(onerow_table["velocity_resolution"][0]), rel=1e-4)
    # and sensitivity_10kms (mJy/beam) is the best window's, as the text writes it to 2 digits
    assert float(onerow_table["sensitivity_10kms"][0]) == pytest.approx(min(w.sensitivity_10kms_mjy for w in wins),
                                                                         abs=0.05)
    assert len(parse_frequency_support(text.replace(" U ", "U"))) == 4
    assert parse_frequency_support("[84.0..86.0GHz,976.56kHz, XX] U [garbage] U []")[0].fmax_mhz == 86000.0
    assert parse_frequency_support("") == [] and parse_frequency_support(None) == []


def test_sexagesimal_and_separation_against_astropy():
    c = SkyCoord("13h37m00.919s", "-29d51m56.74s")
    assert parse_ra_deg("13:37:00.919") == pytest.approx(c.ra.deg, abs=1e-12)
    assert parse_ra_deg("13h37m00.919s") == pytest.approx(c.ra.deg, abs=1e-12)
    assert parse_dec_deg("-29:51:56.74") == pytest.approx(c.dec.deg, abs=1e-12)
    assert parse_dec_deg("-00 30 00") == -0.5 and parse_dec_deg("+12d30m00s") == 12.5
    assert parse_ra_deg("204.2538") == 204.2538 and parse_dec_deg(-29.5) == -29.5
    for bad in ("25:00:00", "12:61:00", "abc", "-1:00:00"):
        with pytest.raises(CoordinateError):
            parse_ra_deg(bad)
    with pytest.raises(CoordinateError):
        parse_dec_deg("91")
    rng = np.random.default_rng(1)
    ra1, ra2 = rng.uniform(0, 360, 200), rng.uniform(0, 360, 200)
    dec1, dec2 = rng.uniform(-90, 90, 200), rng.uniform(-90, 90, 200)
    ref = SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg
    np.testing.assert_allclose(separation_deg(ra1, dec1, ra2, dec2), ref, rtol=0, atol=1e-12)
    tiny = SkyCoord(10, 20, unit="deg").separation(SkyCoord(10 + 1e-7, 20 + 1e-7, unit="deg")).deg
    assert separation_deg(10, 20, 10 + 1e-7, 20 + 1e-7) == pytest.approx(tiny, rel=1e-9)


def test_sources_csv():
    text = "# my targets\nname;ra;dec;vlsr\nIRAS16293;16:32:22.9;-24:28:36;3.8\nOrion KL;83.80921;-5.3731;9\n"
    src = atomis.read_sources_csv(text)
    assert [s.name for s in src] == ["IRAS16293", "Orion KL"] and src[0].vlsr_kms == 3.8
    assert src[0].ra_deg == pytest.approx(SkyCoord("16h32m22.9s", "-24d28m36s").ra.deg, abs=1e-12)
    z = atomis.read_sources_csv("source,ra_deg,dec_deg,redshift\nQSO,10.5,-3.25,2.5\n")
    assert z[0].redshift == 2.5 and z[0].vlsr_kms == 0.0
    with pytest.raises(atomis.AtomisError, match="needs columns name, ra, dec"):
        atomis.read_sources_csv("a,b\n1,2\n")
    with pytest.raises(atomis.AtomisError, match="line 3"):
        atomis.read_sources_csv("name,ra,dec\nA,10,10\nB,10,100\n")


def co10():
    from cassis_lite.linedb import LineDatabase

    t = LineDatabase().transitions(CO10 - 0.01, CO10 + 0.01, species=["CO"])
    assert len(t) == 1
    return t


@pytest.mark.parametrize("vlsr, windows, best", [("513", [1, 2, 3], 3), ("0", [1, 2], 2)])
def test_coverage_of_co_in_m83_depends_on_the_velocity(onerow, vlsr, windows, best):
    """Observed at 115271.2 (1 - v/c): at 513 km/s 115073.9 MHz falls in windows 2-4, at 0 km/s only in
    windows 2 and 3 (window 4 ends at 115.19 GHz); the finest window that holds it is reported."""
    t = co10()
    src = atomis.Source.parse(M83[0], M83[1], M83[2], vlsr)
    observed = float(atomis.observed_freq_mhz(t, src)[0])
    ref = (float(vlsr) * u.km / u.s).to(u.MHz, equivalencies=u.doppler_radio(CO10 * u.MHz)).value
    assert observed == pytest.approx(ref, rel=1e-14)  # radio convention, as astropy's doppler_radio
    held = [i for i, w in enumerate(onerow.windows[0]) if w.fmin_mhz <= observed <= w.fmax_mhz]
    assert held == windows
    matches = atomis.match_observations(onerow, t, [src])
    assert len(matches) == 1
    m = matches[0]
    (c,) = m.lines
    assert c.window == best and c.species == "CO" and c.observed_freq_mhz == observed
    w = onerow.windows[0][best]
    assert c.velocity_resolution_kms == pytest.approx(w.resolution_mhz / observed * C_LIGHT / 1e3)
    assert m.obs["proposal_id"] == "2017.1.00079.S" and m.obs["member_ous_uid"] == "uid://A001/X1295/X35"
    assert m.obs["access_url"] == "http://almascience.org/aq?member_ous_id=uid://A001/X1295/X35"
    assert m.obs["velocity_resolution_kms"] == pytest.approx(0.3176733782195699)
    sep = SkyCoord(src.ra_deg, src.dec_deg, unit="deg").separation(
        SkyCoord(onerow.num["s_ra"][0], onerow.num["s_dec"][0], unit="deg")).arcsec
    assert m.separation_arcsec == pytest.approx(sep, rel=1e-9)
    # the velocity-resolution limit is per line: 0.5 km/s keeps the 0.32 km/s window, not the 1.27 km/s one
    kept = atomis.match_observations(onerow, t, [src], atomis.Limits(velocity_resolution_max_kms=0.5))
    assert bool(kept) == (vlsr == "513")


def test_position_modes_on_the_real_mosaic(onerow):
    """M83's nucleus is 24" from the pointing centre of a 9.9' mosaic: inside its footprint, not within 10"."""
    t = co10()
    src = [atomis.Source.parse(*M83)]
    assert atomis.match_observations(onerow, t, src, atomis.Limits(radius_arcsec=10, position="footprint"))
    assert not atomis.match_observations(onerow, t, src, atomis.Limits(radius_arcsec=10, position="centre"))
    assert atomis.match_observations(onerow, t, src, atomis.Limits(radius_arcsec=30, position="centre"))
    far = [atomis.Source("elsewhere", 204.247, -28.5, 513.0)]
    assert not atomis.match_observations(onerow, t, far)
    assert not atomis.match_observations(onerow, t, src, atomis.Limits(spatial_resolution_max_arcsec=1.0))
    assert atomis.match_observations(onerow, t, src, atomis.Limits(spatial_resolution_max_arcsec=2.0))
    assert not atomis.match_observations(onerow, t, src, atomis.Limits(sensitivity_10kms_max_mjy=5.0))


def test_adql_widens_alma_ranges_so_the_real_row_is_found(onerow):
    """The real row's em_min..em_max (112.35-114.23 GHz) misses its own CO 1-0 windows: an exact
    ObsCore condition would drop the project; the ALMA profile pads by a tuning's span."""
    t = co10()
    src = atomis.Source.parse(*M83)
    lam = C_LIGHT / (atomis.observed_freq_mhz(t, src)[0] * 1e6)
    em_min, em_max = onerow.num["em_min"][0], onerow.num["em_max"][0]
    assert not (em_min <= lam <= em_max)
    adql = atomis.obscore_adql(t, [src], atomis.Limits(spatial_resolution_max_arcsec=2, velocity_resolution_max_kms=0.5,
                                                       sensitivity_10kms_max_mjy=10, public_only=True))
    spans = [(float(a), float(b)) for a, b in re.findall(r"em_min <= (\S+) AND em_max >= ([^)\s]+)\)", adql)]
    assert len(spans) == 1 and any(em_min <= hi and em_max >= lo for hi, lo in spans)  # the row passes
    assert "FROM ivoa.obscore" in adql and "INTERSECTS(CIRCLE('ICRS', " in adql and "s_region) = 1" in adql
    radius = float(re.search(r"CIRCLE\('ICRS', \S+, \S+, ([^)]+)\)", adql).group(1))
    assert radius * 3600 == pytest.approx(10.0)
    assert "spatial_resolution <= 2.0" in adql and "velocity_resolution <= 500.0" in adql  # m/s in the archive
    assert "sensitivity_10kms <= 10.0" in adql and "data_rights = 'Public'" in adql
    assert "science_observation = 'T'" in adql
    exact = atomis.obscore_adql(t, [src], atomis.Limits(position="centre"), profile="obscore")
    hi, lo = (float(x) for x in re.search(r"em_min <= (\S+) AND em_max >= ([^)\s]+)\)", exact).groups())
    assert hi == lo == pytest.approx(lam, rel=1e-15)
    assert "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE(" in exact and "science_observation" not in exact
    with pytest.raises(atomis.AtomisError, match="no lines"):
        atomis.obscore_adql(t[:0], [src])


def test_frequency_intervals_hold_every_line(line_db):
    t = line_db.transitions(84_000, 950_000, species=["CH3OH"], eup_max_k=300)
    assert len(t) > 200
    for pad, n in ((0.0, 40), (24_000.0, 40), (0.0, 3), (100.0, 1000)):
        spans = atomis.frequency_intervals(t.freq_mhz, n, pad)
        assert 1 <= len(spans) <= n
        assert all(a < b or pad == 0 for a, b in spans) and all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))
        f = t.freq_mhz
        inside = np.zeros(f.size, bool)
        for a, b in spans:
            inside |= (f - pad >= a - 1e-9) & (f + pad <= b + 1e-9)
        assert inside.all()


def obscore_rows(**over):
    """Three observations described with ObsCore 1.1 columns only (no ALMA extensions)."""
    cols = {
        "dataproduct_type": ["cube", "cube", "cube"], "calib_level": [2, 2, 3], "obs_collection": ["X"] * 3,
        "obs_id": ["a", "b", "c"], "obs_publisher_did": ["ivo://x/a", "ivo://x/b", "ivo://x/c"],
        "access_url": ["http://x/a", "http://x/b", ""], "access_format": ["application/fits"] * 3,
        "access_estsize": [10, 10, 10], "target_name": ["T", "T", "U"],
        "s_ra": [83.80921, 83.80921 + 30 / 3600, 10.0], "s_dec": [-5.3731, -5.3731, 10.0],
        "s_fov": [0.01, 0.02, 0.01], "s_region": [""] * 3, "s_resolution": [0.5, 1.5, 0.5],
        "s_xel1": [100] * 3, "s_xel2": [100] * 3, "t_min": [58000.0] * 3, "t_max": [58000.1] * 3,
        "t_exptime": [600.0] * 3, "t_resolution": [600.0] * 3, "t_xel": [1] * 3,
        # 230.0-231.0 GHz, 229.0-229.5 GHz, 230.0-231.0 GHz, as vacuum wavelengths (m)
        "em_min": [C_LIGHT / 231e9, C_LIGHT / 229.5e9, C_LIGHT / 231e9],
        "em_max": [C_LIGHT / 230e9, C_LIGHT / 229e9, C_LIGHT / 230e9],
        "em_res_power": [230e9 / 488e3, 229e9 / 122e3, 1e5], "em_xel": [2048] * 3, "o_ucd": ["phot.flux.density"] * 3,
        "pol_states": ["/XX/YY/"] * 3, "pol_xel": [2] * 3, "facility_name": ["X"] * 3, "instrument_name": ["Y"] * 3,
    }
    cols.update(over)
    return ObscoreRows(cols)


def test_rows_built_from_the_obscore_standard(line_db):
    rows = obscore_rows()
    assert [(w.fmin_mhz, w.fmax_mhz) for w in rows.windows[0]] == [pytest.approx((230000.0, 231000.0))]
    t = line_db.transitions(230_538.0 - 0.01, 230_538.0 + 0.01, species=["CO"])
    orion = atomis.Source("Orion", 83.80921, -5.3731, 9.0)
    m = atomis.match_observations(rows, t, [orion], atomis.Limits(radius_arcsec=5, position="centre"))
    assert [x.obs["obs_id"] for x in m] == ["a"]  # b is 30" away, c elsewhere
    # resolving power -> channel width: c / R (230 GHz / 488 kHz)
    channel_hz = 230.5e9 / (230e9 / 488e3)  # mid-window frequency / em_res_power
    assert m[0].lines[0].velocity_resolution_kms == pytest.approx(
        C_LIGHT / 1e3 * channel_hz / (m[0].lines[0].observed_freq_mhz * 1e6), rel=1e-12)
    wide = atomis.match_observations(rows, t, [orion], atomis.Limits(radius_arcsec=25, position="footprint"))
    assert [x.obs["obs_id"] for x in wide] == ["a"]  # b's window does not hold CO 2-1 at 9 km/s
    fast = atomis.Source("fast", 83.80921 + 30 / 3600, -5.3731, 1500.0)  # CO 2-1 observed at 229.38 GHz
    m = atomis.match_observations(rows, t, [fast], atomis.Limits(radius_arcsec=5, position="centre"))
    assert [x.obs["obs_id"] for x in m] == ["b"]
    assert atomis.filter_matches(m, species=["HCN"]) == [] and atomis.filter_matches(m, min_lines=2) == []
    assert atomis.match_observations(rows, t, [orion], atomis.Limits(spatial_resolution_max_arcsec=0.4)) == []
    with pytest.raises(Exception, match="no s_ra"):
        ObscoreRows({"s_dec": [1.0]})


def test_real_tap_votable_answer_reads(onerow_votable):
    shapes = rows_from_votable(alma_file("alma-shapes.xml"))
    ref = Table.read(io.BytesIO(alma_file("alma-shapes.xml")), format="votable")
    assert len(shapes) == len(ref) == 5
    np.testing.assert_array_equal(shapes.num["s_ra"], ref["s_ra"])
    np.testing.assert_array_equal(shapes.num["frequency"], ref["frequency"])
    assert shapes.windows == [[]] * 5  # no spectral columns asked in that query
    rows = rows_from_votable(onerow_votable.read_bytes())
    assert rows.text["proposal_id"] == ["2017.1.00079.S"] and len(rows.windows[0]) == 4
    with pytest.raises(Exception, match="answered an error: bad ADQL"):
        rows_from_votable(b'<VOTABLE><RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">bad ADQL</INFO>'
                          b'</RESOURCE></VOTABLE>')


@pytest.fixture
def cli(capsysbinary):
    """``cassis-lite atomis ARGS`` in this process: (exit status, stdout bytes, stderr text)."""
    from cassis_lite.cli import main

    def run(*args):
        try:
            code = main(["atomis", *args])
        except SystemExit as exc:
            code = exc.code
        cap = capsysbinary.readouterr()
        return code, cap.out, cap.err.decode()

    return run


def test_cli_on_a_saved_answer_and_offline(onerow_votable, cli):
    base = ["--species", "CO", "--fmin", "100000", "--fmax", "120000", "--source", ",".join(M83)]
    code, out, err = cli(*base, "--rows", str(onerow_votable), "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert res["count"] == 1 and res["lines"] == 1
    obs = res["observations"][0]
    assert obs["source"] == "M83" and obs["proposal_id"] == "2017.1.00079.S" and obs["n_lines"] == 1
    assert obs["line_list"][0]["window"] == 3 and obs["lines"].startswith("CO ")
    assert obs["access_url"].endswith("member_ous_id=uid://A001/X1295/X35")
    code, out, err = cli(*base, "--rows", str(onerow_votable))
    assert b"2017.1.00079.S" in out and "1 observation(s)" in err
    code, out, err = cli(*base, "--rows", str(onerow_votable), "--format", "votable")
    t = Table.read(io.BytesIO(out), format="votable")
    assert list(t["proposal_id"]) == ["2017.1.00079.S"] and t["velocity_resolution"].unit == u.km / u.s
    code, out, err = cli(*base[:-1], f"M83 {M83[1]} {M83[2]} 0", "--velocity-resolution-max", "0.5",
                         "--rows", str(onerow_votable), "--format", "csv")
    assert code == 0 and out.strip().count(b"\n") == 0  # the header only
    code, out, err = cli(*base, "--adql")
    assert code == 0 and out.startswith(b"SELECT ") and b"ivoa.obscore" in out
    code, out, err = cli(*base, "--tap-url", "http://127.0.0.1:9/tap")
    assert code == 2 and "cannot reach the TAP service http://127.0.0.1:9/tap" in err
    assert "offline?" in err and "Traceback" not in err
    code, out, err = cli("--species", "CO", "--source", "A,25:00:00,0")
    assert code == 2 and "right ascension" in err


def test_cli_with_line_and_source_files(onerow_votable, tmp_path, cli):
    from vo_cli import run_cli

    lines = tmp_path / "co.csv"
    assert run_cli("lines", "--fmin", "100000", "--fmax", "400000", "--species", "CO", "-o", lines)[0] == 0
    sources = tmp_path / "src.csv"
    sources.write_text("name,ra,dec,vlsr\nM83,13:37:00.919,-29:51:56.74,513\nfar,10.0,10.0,0\n")
    code, out, err = cli("--lines", str(lines), "--sources", str(sources), "--rows", str(onerow_votable),
                         "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert res["lines"] == 3  # CO 1-0, 2-1, 3-2
    assert [(o["source"], o["lines"].split(" ")[0], o["line_list"][0]["rest_freq_mhz"]) for o in res["observations"]] \
        == [("M83", "CO", CO10)]
    code, _, err = cli("--lines", str(lines), "--species", "CO", "--sources", str(sources))
    assert code == 2 and "not both" in err


def test_cli_queries_a_tap_service_with_pyvo(onerow_votable, tmp_path, cli):
    with alma_data.TapServer(onerow_votable.read_bytes()) as tap:
        url = tap.url
        base = ["--species", "CO", "--fmin", "100000", "--fmax", "120000", "--source", ",".join(M83), "--public-only"]
        saved = tmp_path / "answer.vot"
        code, out, err = cli(*base, "--tap-url", url, "--maxrec", "500", "--save-rows", str(saved), "--format", "json")
        assert code == 0, err
        assert json.loads(out)["observations"][0]["proposal_id"] == "2017.1.00079.S"
        (path, form), = tap.received
        assert path == "/tap/sync" and form["LANG"] == "ADQL" and form["REQUEST"] == "doQuery"
        assert form["MAXREC"] == "500" and form["QUERY"] == cli(*base, "--adql")[1].decode().rstrip("\n")
        assert saved.read_bytes() == onerow_votable.read_bytes()
