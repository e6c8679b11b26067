"""The line search (cassis_lite.linedb.search): frames, filters, variants, the tie rule, exports,
and ``cassis-lite lines`` giving what the search gives. On the bundled database and on the real
full catalogue (build/full.db, the tests marked site), against independent references: astropy's
radio velocity convention, c by hand, the Splatalogue dump's own S mu^2 and 300 K intensities,
astropy's VOTable reader."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from cassis_lite.cli import main
from cassis_lite.errors import QueryError
from cassis_lite.linedb import LineDatabase
from cassis_lite.linedb.names import family_key, is_ground_state, skeleton
from cassis_lite.linedb.search import rest_range_mhz, search_lines, species_variants
from cassis_lite.vo import exports
from tests.test_fulldb import dump, full_path  # noqa: F401 - fixtures

C_KMS = 299792.458


@pytest.fixture(scope="module")
def db():
    with LineDatabase() as d:
        yield d


@pytest.fixture(scope="module")
def full(full_path):  # noqa: F811
    with LineDatabase(full_path) as d:
        yield d


# ------------------------------------------------------------------ frames
def test_observed_range_is_astropy_radio_velocity():
    u = pytest.importorskip("astropy.units")
    nu0 = 230538.0 * u.MHz
    for v in (-250.0, 0.0, 42.5, 3000.0):
        f_obs = (v * u.km / u.s).to(u.MHz, equivalencies=u.doppler_radio(nu0)).value
        lo, hi = rest_range_mhz(f_obs, f_obs, "MHz", "observed", vlsr_kms=v)
        assert lo == pytest.approx(230538.0, rel=1e-12) and hi == pytest.approx(230538.0, rel=1e-12)
    # a redshift, by hand: nu_obs = nu_0 / (1 + z); in GHz
    lo, hi = rest_range_mhz(115.2712018 / 1.5, 115.2712018 / 1.5, "GHz", "observed", redshift=0.5)
    assert lo == pytest.approx(115271.2018, rel=1e-12)
    # rest frame: v and z change nothing
    assert rest_range_mhz(100, 200, "MHz", "rest", vlsr_kms=100, redshift=1) == (100.0, 200.0)


def test_wavelength_range_by_hand_with_c():
    lo, hi = rest_range_mhz(2.6, 2.61, "mm")
    assert lo == pytest.approx(C_KMS * 1e3 / 2.61e-3 / 1e6, rel=1e-12)
    assert hi == pytest.approx(C_KMS * 1e3 / 2.6e-3 / 1e6, rel=1e-12)


def test_search_observed_finds_the_shifted_line(db):
    v = 150.0
    f_obs = 115271.2018 * (1 - v / C_KMS)
    got = search_lines(db, f_obs - 1, f_obs + 1, frame="observed", vlsr_kms=v, species="CO")
    assert len(got) == 1 and got.transitions.qn[0] == "1 -> 0"
    assert got.freq_obs_mhz[0] == pytest.approx(got.transitions.freq_mhz[0] * (1 - v / C_KMS), rel=1e-13)
    assert len(search_lines(db, f_obs - 1, f_obs + 1, frame="rest", species="CO")) == 0


@pytest.mark.parametrize("kw,message", [
    ({"fmin": 2, "fmax": 1}, "inverted"), ({"fmin": "a", "fmax": 1}, "numbers"),
    ({"fmin": 1, "fmax": 2, "unit": "km/s"}, "frequency or a wavelength"),
    ({"fmin": 1, "fmax": 2, "frame": "sideways"}, "rest or observed"),
    ({"fmin": 1, "fmax": 2, "frame": "observed", "redshift": -1}, "z above -1"),
    ({"fmin": 1, "fmax": 2, "smu2_min": "x"}, r"S mu\^2 minimum"),
])
def test_bad_queries_say_what(db, kw, message):
    with pytest.raises(QueryError, match=message):
        search_lines(db, **kw)


# ------------------------------------------------------------------ filters
def test_smu2_and_lgint_of_co_by_hand(db):
    # CO J=1-0: S mu^2 = J_u mu^2 with mu = 0.11011 D (linear rotor), CDMS LGINT -5.0105 (c028503)
    got = search_lines(db, 115271, 115272, species="CO")
    assert got.smu2_d2[0] == pytest.approx(0.11011 ** 2, rel=0.005)
    assert got.lgint300[0] == pytest.approx(-5.0105, abs=0.005)


def test_filters_cut_where_they_say(db):
    every = search_lines(db, 80e3, 120e3)
    for kw, values, keep in (({"eup_max_k": 20.0}, every.transitions.eup_k, lambda x: x <= 20),
                             ({"aij_min": 1e-5}, every.transitions.aij, lambda x: x >= 1e-5),
                             ({"smu2_min": 10.0}, every.smu2_d2, lambda x: x >= 10),
                             ({"lgint_min": -4.0}, every.lgint300, lambda x: x >= -4)):
        got = search_lines(db, 80e3, 120e3, **kw)
        with np.errstate(invalid="ignore"):
            assert 0 < len(got) == int(np.sum(keep(values))) < len(every)
    cdms = search_lines(db, 80e3, 120e3, source="CDMS")
    assert set(cdms.transitions.sources) == {"CDMS"} and [c["database"] for c in cdms.citations] == ["CDMS"]
    assert "Müller" in cdms.citations[0]["citation"]


def test_sort_and_records(db):
    got = search_lines(db, 80e3, 120e3, sort="eup_k", descending=True)
    assert np.all(np.diff(got.transitions.eup_k) <= 0)
    r = got.to_records()[0]
    assert {"freq_obs_mhz", "smu2_d2", "lgint300", "citation", "source"} <= set(r)
    assert r["citation"] and r["citation"] == next(c["citation"] for c in got.citations
                                                   if c["database"] == r["source"])
    with pytest.raises(QueryError, match="cannot sort"):
        got.sorted("colour")


# ------------------------------------------------------------------ names, variants, tie rule
def test_isotopologue_skeletons():
    assert {skeleton(x) for x in ("CH3CN", "CH3(13)CN", "(13)CH3CN", "CH2DCN", "CH3C(15)N")} == {"CH3CN"}
    assert skeleton("CH3NC") == "CH3NC" and skeleton("HDO") == "H2O" and skeleton("DNC") == "HNC"
    assert family_key("HCO+") != family_key("HCO") and family_key("o-H2CO") == family_key("H2CO")
    assert is_ground_state("NH3, v=0") and is_ground_state("CH3OH, vt=0-2") and is_ground_state("CO (CDMS)")
    assert not is_ground_state("NH3 v2=1") and not is_ground_state("Fe II")
    assert not is_ground_state("HCN v2=1^1-v2=4^0")


@pytest.mark.site
def test_ch3cn_variants_in_the_full_catalogue(full):
    names = [s.name for s in species_variants(full, "CH3CN")]
    assert names[0] == "CH3CN"
    assert {"CH3CN v8=1", "(13)CH3CN", "CH3(13)CN", "CH3C(15)N", "CH2DCN"} <= set(names)
    assert "CH3NC" not in names  # an isomer, not an isotopologue
    assert names.index("CH3CN v8=1") < names.index("(13)CH3CN")  # the main one's states first
    assert [s.name for s in species_variants(full, "41505")][0] == "CH3CN"  # by tag


@pytest.mark.site
def test_nh3_tie_rule_in_the_full_catalogue(full):
    nh3 = [s for s in full.species() if s.formula == "NH3"]
    assert len(nh3) >= 2  # several NH3 from several lists
    assert full.find_species("NH3").name == "NH3, v=0"  # ground state, CDMS
    listed = [s.name for s in species_variants(full, "NH3")]
    assert {s.name for s in nh3} <= set(listed) and listed[0] == "NH3, v=0"


@pytest.mark.site
def test_smu2_and_lgint_against_the_splatalogue_dump(full, dump):  # noqa: F811
    """The dump's own S mu^2 and JPL 300 K intensities (columns sijmu2, intintensity) for its JPL
    lines (ll_id 12) of CH3CH2CN v=0 in 220-230 GHz: ours are computed from A_ij, g_u, E_low, Q."""
    got = search_lines(full, 220e3, 230e3, species="CH3CH2CN v=0")
    t = got.transitions
    assert len(t) > 100 and set(t.sources) == {"JPL (Splatalogue)"}
    n = 0
    for f, g, el, s, lg in zip(t.freq_mhz[::10], t.gup[::10], t.elow_cm[::10], got.smu2_d2[::10],
                               got.lgint300[::10]):
        ref = dump.execute("SELECT sijmu2, intintensity FROM main WHERE ll_id = 12 AND orderedfreq BETWEEN ? AND ? "
                           "AND upper_state_degeneracy = ? AND ABS(lower_state_energy - ?) < 1e-3",
                           (f - 1e-4, f + 1e-4, int(g), el)).fetchall()
        if len(ref) == 1 and ref[0][0]:
            n += 1
            assert s == pytest.approx(ref[0][0], rel=2e-3)
            assert lg == pytest.approx(ref[0][1], abs=2e-3)
    assert n >= 10


# ------------------------------------------------------------------ exports and the CLI
def test_votable_export_round_trip_with_astropy(db):
    votable = pytest.importorskip("astropy.io.votable")
    got = search_lines(db, 86e3, 90e3)
    table = votable.parse_single_table(io.BytesIO(exports.export("lines", got.transitions, "votable")))
    a = table.array
    assert len(a) == len(got)
    freq = next(n for n in a.dtype.names if "freq" in n.lower())
    np.testing.assert_allclose(np.asarray(a[freq], dtype=float), got.transitions.freq_mhz, rtol=1e-12)


def _cli(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_cli_is_the_search(capsys, db, tmp_path):
    v = 8.0
    args = ("lines", "--fmin", "86", "--fmax", "90", "--unit", "GHz", "--vlsr", str(v), "--eup-max", "100",
            "--aij-min", "1e-6", "--smu2-min", "1", "--sort=-aij", "--format", "csv")
    out = _cli(capsys, *args)
    got = search_lines(db, 86, 90, unit="GHz", frame="observed", vlsr_kms=v, eup_max_k=100, aij_min=1e-6,
                       smu2_min=1, sort="aij", descending=True)
    assert len(got) > 3
    assert out.encode() == exports.export("lines", got.transitions, "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["aij"]) for r in rows] == sorted((float(r["aij"]) for r in rows), reverse=True)
    # --z alone: observed frame too
    out = _cli(capsys, "lines", "--fmin", "76847", "--fmax", "76848", "--z", "0.5", "--format", "csv")
    assert "CO" in out and "115271.2" in out
    # citations on stderr with the table, in the JSON header
    assert main(["lines", "--fmin", "115271", "--fmax", "115272"]) == 0
    assert "Schöier" in capsys.readouterr().err


@pytest.mark.site
def test_cli_on_the_full_catalogue_with_sources(capsys, full, full_path):  # noqa: F811
    out = _cli(capsys, "lines", "--db", str(full_path), "--fmin", "230", "--fmax", "231", "--unit", "GHz",
               "--source", "SLAIM (Splatalogue)", "JPL (Splatalogue)", "--format", "csv")
    got = search_lines(full, 230, 231, unit="GHz", source=["SLAIM (Splatalogue)", "JPL (Splatalogue)"])
    assert out.encode() == exports.export("lines", got.transitions, "csv")
    assert set(got.transitions.sources) == {"SLAIM (Splatalogue)", "JPL (Splatalogue)"}
    assert {c["database"] for c in got.citations} == set(got.transitions.sources)
