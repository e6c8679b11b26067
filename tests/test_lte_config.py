"""The LTE model JSON schema: defaults, round trip, and one clear message per mistake."""

import json

import pytest

from cassis_lite.errors import CassisError, ConfigError
from cassis_lite.lte import ModelConfig

FULL = {
    "telescope": {"diameter_m": 3.5},
    "beam_efficiency": 0.76,
    "forward_efficiency": 0.96,
    "unit": "TA*",
    "tcmb_k": 2.73,
    "tc_k": 0.5,
    "vlsr_file_kms": 3.8,
    "components": [
        {"name": "envelope", "tex_k": 20.0, "fwhm_kms": 2.0, "vlsr_kms": 4.0, "size_arcsec": 30.0,
         "interacting": False, "enabled": True,
         "species": [{"species": "CO", "ntot_cm2": 1e16, "eup_max_k": 200.0, "aij_min": None},
                     {"species": 32504, "ntot_cm2": 1e14, "eup_max_k": None, "aij_min": 1e-6, "fwhm_kms": 1.5}]},
        {"name": "outflow", "tex_k": 80.0, "fwhm_kms": 12.0, "vlsr_kms": 2.0, "size_arcsec": None,
         "interacting": True, "enabled": True, "species": [{"species": "CO", "ntot_cm2": 1e15,
                                                            "eup_max_k": None, "aij_min": None}]},
    ],
    "grid": {"fmin_mhz": 550000.0, "fmax_mhz": 551000.0, "step_mhz": 0.5},
}


def test_round_trip_is_identity():
    cfg = ModelConfig.from_dict(json.loads(json.dumps(FULL)))
    assert cfg.to_dict() == FULL
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_defaults_match_cassis():
    cfg = ModelConfig.from_dict({"components": [{"tex_k": 10, "fwhm_kms": 1,
                                                 "species": [{"species": "CS", "ntot_cm2": 1e13}]}]})
    assert cfg.tcmb_k == 2.73 and cfg.tc_k == 0.0 and cfg.unit == "Tmb" and cfg.telescope is None
    c = cfg.components[0]
    assert c.name == "c1" and c.vlsr_kms == 0.0 and c.size_arcsec is None and c.interacting is False


@pytest.mark.parametrize(
    "patch,words",
    [
        ({"unit": "mK"}, "unit must be one of"),
        ({"tcmb": 3}, "unknown key 'tcmb'"),
        ({"telescope": {"diameter_m": -3}}, "diameter_m must be > 0"),
        ({"telescope": {"name": "arecibo"}}, "unknown telescope 'arecibo'"),
        ({"telescope": {"diameter_m": 3, "name": "hifi"}}, "exactly one of"),
        ({"telescope": {"beam_arcsec": [1, 2, 3]}}, "beam_arcsec must be [bmaj, bmin]"),
        ({"unit": "Jy/beam", "telescope": None}, "Jy/beam needs a telescope"),
        ({"components": {"a": 1}}, "components must be a list"),
        ({"grid": {"fmin_mhz": 10, "fmax_mhz": 5, "step_mhz": 1}}, "must be above fmin"),
    ],
)
def test_top_level_errors_name_the_key(patch, words):
    d = json.loads(json.dumps(FULL))
    d.update(patch)
    with pytest.raises(ConfigError, match=None) as exc:
        ModelConfig.from_dict(d)
    assert words in str(exc.value) and "\n" not in str(exc.value)
    assert isinstance(exc.value, CassisError)


@pytest.mark.parametrize(
    "path,value,words",
    [
        (("tex_k",), -5, "components[0].tex_k must be > 0"),
        (("tex_k",), "hot", "components[0].tex_k must be a finite number"),
        (("fwhm_kms",), float("nan"), "components[0].fwhm_kms must be a finite number"),
        (("interacting",), "yes", "components[0].interacting must be true or false"),
        (("species", 1, "ntot_cm2"), -1e14, "components[0].species[1].ntot_cm2 must be >= 0"),
        (("species", 0, "species"), "", "components[0].species[0].species must be a species name or tag"),
        (("species", 0, "ntot"), 1e10, "unknown key components[0].species[0].'ntot'"),
    ],
)
def test_component_errors_name_the_path(path, value, words):
    d = json.loads(json.dumps(FULL))
    node = d["components"][0]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as exc:
        ModelConfig.from_dict(d)
    assert words in str(exc.value)


def test_missing_required_and_duplicate_names():
    with pytest.raises(ConfigError, match=r"components\[0\].tex_k is missing"):
        ModelConfig.from_dict({"components": [{"fwhm_kms": 1}]})
    with pytest.raises(ConfigError, match="ntot_cm2 is missing"):
        ModelConfig.from_dict({"components": [{"tex_k": 10, "fwhm_kms": 1, "species": [{"species": "CO"}]}]})
    d = json.loads(json.dumps(FULL))
    d["components"][1]["name"] = "envelope"
    with pytest.raises(ConfigError, match="'envelope' is used twice"):
        ModelConfig.from_dict(d)


def test_bad_json_is_one_line():
    with pytest.raises(ConfigError) as exc:
        ModelConfig.from_json('{"components": [', source="config m.json")
    assert str(exc.value).startswith("config m.json is not valid JSON") and "\n" not in str(exc.value)
    with pytest.raises(ConfigError, match="config must be a JSON object"):
        ModelConfig.from_json("[1, 2]")


def test_partition_setting_default_refined_catalogue_kept_bad_value_named():
    comp = {"components": [{"tex_k": 30.0, "fwhm_kms": 1.0, "species": [{"species": "CO", "ntot_cm2": 1e15}]}]}
    assert ModelConfig.from_dict(comp).partition == "refined"
    assert "partition" not in ModelConfig.from_dict(comp).to_dict()  # the default is left out
    cat = ModelConfig.from_dict({**comp, "partition": "catalogue"})
    assert cat.partition == "catalogue" and cat.to_dict()["partition"] == "catalogue"
    assert ModelConfig.from_dict(cat.to_dict()).partition == "catalogue"
    with pytest.raises(ConfigError, match="partition must be one of refined, catalogue"):
        ModelConfig.from_dict({**comp, "partition": "exact"})
