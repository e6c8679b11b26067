"""CASSIS ``.ltm`` model files <-> the model JSON (:class:`~cassis_lite.lte.ModelConfig`).

A ``.ltm`` file is a Java properties file written by CASSIS (and by the IRAP team's
``cassis-lte-python``): the frequency range (``minValue``, ``maxValue``, ``valUnit``,
``resolution``), ``telescope``, ``tmbBox``, ``tbg``, the thresholds (``thresEupMax``,
``thresAijMin``), then numbered components ``CompN...``: a continuum (``CompNContinuum`` a
constant "Continuum T [K]") or an LTE component (``CompNVlsr``, ``CompNInteracting``,
``CompNEnabled``) whose species ``CompNMolM...`` carry their tag, column density (``NSp``),
``Tex``, ``FWHM`` and ``Size``. In CASSIS T_ex and size belong to each species; in the model JSON
to the component: species of one CASSIS component that differ in T_ex or size become components
of their own, side by side (non-interacting), which is the same radiative transfer.
"""

from __future__ import annotations

import math
import re

from cassis_lite.errors import ConfigError

_UNITS_MHZ = {"HZ": 1e-6, "KHZ": 1e-3, "MHZ": 1.0, "GHZ": 1e3, "THZ": 1e6}
#: an E_up / A_ij threshold this large (or zero) means "no threshold"
_NO_LIMIT = 1e300


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines (``#`` comments and blank lines skipped; a repeated key: the last)."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _num(props, key, where):
    try:
        v = float(props[key])
    except KeyError:
        raise ConfigError(f"{where}: {key} is missing") from None
    except ValueError:
        raise ConfigError(f"{where}: {key}={props[key]!r} is not a number") from None
    if not math.isfinite(v):
        raise ConfigError(f"{where}: {key} is not finite")
    return v


def read_ltm(text: str, name: str = "model.ltm") -> dict:
    """The model JSON of a CASSIS ``.ltm`` file (raises :class:`ConfigError` naming the key).
    It computes with CASSIS's partition functions (``"partition": "catalogue"``), so that the
    model gives CASSIS's numbers."""
    p = parse_properties(text)
    if not any(k.startswith("Comp") for k in p):
        raise ConfigError(f"{name}: not a CASSIS .ltm model (no CompN... keys)")
    d: dict = {"partition": "catalogue", "tcmb_k": _num(p, "tbg", name) if "tbg" in p else 2.73,
               "unit": "Tmb" if p.get("tmbBox", "true").lower() == "true" else "TA*"}
    if p.get("telescope"):
        d["telescope"] = {"name": p["telescope"]}
    eup_max = _num(p, "thresEupMax", name) if "thresEupMax" in p else None
    aij_min = _num(p, "thresAijMin", name) if "thresAijMin" in p else None
    eup_max = None if eup_max is None or eup_max >= _NO_LIMIT else eup_max
    aij_min = None if not aij_min else aij_min
    if {"minValue", "maxValue", "resolution"} <= set(p):
        f = _UNITS_MHZ.get(p.get("valUnit", "GHZ").upper())
        r = _UNITS_MHZ.get(p.get("resolutionUnit", "MHZ").upper())
        if f is None or r is None:
            raise ConfigError(f"{name}: unknown frequency unit {p.get('valUnit')!r} / {p.get('resolutionUnit')!r}")
        d["grid"] = {"fmin_mhz": _num(p, "minValue", name) * f, "fmax_mhz": _num(p, "maxValue", name) * f,
                     "step_mhz": _num(p, "resolution", name) * r}
    numbers = sorted({int(m.group(1)) for k in p for m in [re.match(r"Comp(\d+)", k)] if m})
    components = []
    for n in numbers:
        where = f"{name}: component {n}"
        if f"Comp{n}Continuum" in p:
            m = re.search(r"([-+0-9.eE]+)\s*\[K\]", p[f"Comp{n}Continuum"])
            if m:
                d["tc_k"] = d.get("tc_k", 0.0) + float(m.group(1))
            continue
        n_mol = int(_num(p, f"Comp{n}NbMol", where))
        base = {"vlsr_kms": _num(p, f"Comp{n}Vlsr", where) if f"Comp{n}Vlsr" in p else 0.0,
                "interacting": p.get(f"Comp{n}Interacting", "false").lower() == "true",
                "enabled": p.get(f"Comp{n}Enabled", "true").lower() == "true"}
        groups: dict[tuple, list] = {}
        for m in range(1, n_mol + 1):
            key = f"Comp{n}Mol{m}"
            tag = p.get(f"{key}Tag") or p.get(f"{key}Species")
            if not tag:
                raise ConfigError(f"{where}: {key}Tag is missing")
            tex = _num(p, f"{key}Tex", where)
            size = _num(p, f"{key}Size", where) if f"{key}Size" in p else None
            sp = {"species": int(tag) if str(tag).isdigit() else tag, "ntot_cm2": _num(p, f"{key}NSp", where),
                  "eup_max_k": eup_max, "aij_min": aij_min, "fwhm_kms": _num(p, f"{key}FWHM", where)}
            groups.setdefault((tex, size), []).append(sp)
        label = p.get(f"Comp{n}Name", f"c{n}")
        for i, ((tex, size), species) in enumerate(groups.items()):
            fwhm = species[0]["fwhm_kms"]
            for sp in species:
                if sp["fwhm_kms"] == fwhm:
                    del sp["fwhm_kms"]
            components.append(dict(base, name=label if len(groups) == 1 else f"{label} ({i + 1})",
                                   tex_k=tex, fwhm_kms=fwhm, size_arcsec=size, species=species))
    if not components:
        raise ConfigError(f"{name}: no LTE component")
    d["components"] = components
    return d


def write_ltm(config) -> str:
    """A ``.ltm`` text of a model (a ModelConfig or its JSON): what CASSIS reads back."""
    from cassis_lite.lte.config import ModelConfig

    cfg = config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config)
    lines = ["# written by cassis-lite"]
    if cfg.grid is not None:
        lines += [f"minValue={cfg.grid.fmin_mhz / 1e3:.6f}", f"maxValue={cfg.grid.fmax_mhz / 1e3:.6f}",
                  "valUnit=GHZ", f"resolution={cfg.grid.step_mhz:.6g}", "resolutionUnit=MHZ"]
    if cfg.telescope is not None and cfg.telescope.name:
        lines.append(f"telescope={cfg.telescope.name}")
    lines += [f"tmbBox={'true' if cfg.unit == 'Tmb' else 'false'}", f"tbg={cfg.tcmb_k:g}", "tbgUnit=K", "",
              "Comp1Name=Continuum", "Comp1Enabled=true", "Comp1Interacting=false",
              "Comp1ContinuumSelected=CONSTANT", f"Comp1Continuum=Continuum {cfg.tc_k:g} [K]", ""]
    for i, comp in enumerate(cfg.components, start=2):
        c = f"Comp{i}"
        lines += [f"{c}Name={comp.name}", f"{c}Enabled={'true' if comp.enabled else 'false'}",
                  f"{c}Interacting={'true' if comp.interacting else 'false'}", f"{c}Algo=FULL_LTE_ALGO",
                  f"{c}Vlsr={comp.vlsr_kms:.6e}", f"{c}VlsrUnit=km/s", f"{c}NbMol={len(comp.species)}", ""]
        for j, sp in enumerate(comp.species, start=1):
            m = f"{c}Mol{j}"
            lines += [f"{m}Tag={sp.species}", f"{m}NSp={sp.ntot_cm2:.6e}", f"{m}Tex={comp.tex_k:.6g}",
                      f"{m}FWHM={(sp.fwhm_kms or comp.fwhm_kms):.6g}",
                      f"{m}Size={comp.size_arcsec if comp.size_arcsec is not None else 1e5:.6e}", ""]
    return "\n".join(lines) + "\n"
