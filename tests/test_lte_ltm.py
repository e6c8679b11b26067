"""CASSIS .ltm model files: a real one (written by the IRAP team's cassis-lte-python, CASSIS's
format) read into the model JSON, and our writer read back."""

import pytest

from cassis_lite.errors import ConfigError
from cassis_lite.lte import ModelConfig
from cassis_lite.lte.ltm import read_ltm, write_ltm
from paths import FIXTURES

LTM = FIXTURES / "cassis_c4h_cc3h2.ltm"


def test_real_ltm_file_gives_the_model_it_describes():
    d = read_ltm(LTM.read_text(), LTM.name)
    cfg = ModelConfig.from_dict(d)  # valid model JSON
    assert cfg.partition == "catalogue"  # a CASSIS model computes with CASSIS's partition functions
    assert cfg.telescope.name == "iram" and cfg.tcmb_k == 2.73 and cfg.tc_k == 0.0
    assert d["grid"] == {"fmin_mhz": pytest.approx(85600.0), "fmax_mhz": pytest.approx(85700.0),
                         "step_mhz": pytest.approx(0.1)}
    (comp,) = cfg.components  # the continuum is tc_k, not a component
    assert comp.tex_k == 100.0 and comp.fwhm_kms == 5.0 and comp.vlsr_kms == 0.0 and comp.size_arcsec == 1e5
    assert [(s.species, s.ntot_cm2) for s in comp.species] == [(49503, 8e14), (38002, 3e13)]
    assert all(s.eup_max_k is None and s.aij_min is None for s in comp.species)  # 1e304 and 0: no threshold


def test_species_of_one_cassis_component_with_other_tex_become_components():
    text = LTM.read_text().replace("Comp2Mol2Tex=100.00", "Comp2Mol2Tex=30.00")
    cfg = ModelConfig.from_dict(read_ltm(text))
    assert [(c.tex_k, [s.species for s in c.species]) for c in cfg.components] == [(100.0, [49503]), (30.0, [38002])]
    assert not any(c.interacting for c in cfg.components)


def test_written_ltm_reads_back_to_the_same_model():
    d = {"telescope": {"name": "hifi"}, "tc_k": 1.5, "components": [
        {"name": "c1", "tex_k": 71.88, "fwhm_kms": 4.891, "vlsr_kms": 3.816, "size_arcsec": 30.0,
         "species": [{"species": "CO", "ntot_cm2": 2.261e16}]},
        {"name": "c2", "tex_k": 20.0, "fwhm_kms": 1.0, "vlsr_kms": 4.5, "size_arcsec": 60.0, "interacting": True,
         "species": [{"species": "13CO", "ntot_cm2": 1e15}]}]}
    back = ModelConfig.from_dict(read_ltm(write_ltm(d)))
    orig = ModelConfig.from_dict(d)
    assert back.tc_k == orig.tc_k and back.telescope == orig.telescope
    for a, b in zip(back.components, orig.components):
        assert (a.tex_k, a.fwhm_kms, a.vlsr_kms, a.size_arcsec, a.interacting) == \
               pytest.approx((b.tex_k, b.fwhm_kms, b.vlsr_kms, b.size_arcsec, b.interacting))
        assert a.species[0].species == b.species[0].species
        assert a.species[0].ntot_cm2 == pytest.approx(b.species[0].ntot_cm2, rel=1e-6)


@pytest.mark.parametrize("text,match", [("tbg=2.7\n", "not a CASSIS .ltm"),
                                        ("Comp1Name=x\nComp1NbMol=1\nComp1Mol1Tag=28503\n", "Tex is missing"),
                                        ("Comp1Name=x\nComp1NbMol=one\n", "not a number")])
def test_bad_ltm_files_are_refused_naming_the_key(text, match):
    with pytest.raises(ConfigError, match=match):
        read_ltm(text, "bad.ltm")
