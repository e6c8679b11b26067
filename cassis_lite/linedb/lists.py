"""Line lists beside the database: lists received or fetched at run time (a SLAP service's answer,
a line table sent by TOPCAT over SAMP, a saved VOTable/CSV/FITS line table) searched and drawn
like the database's own transitions.

A query (frequency range, species, E_up max, A_ij min) is answered by the database and by each
list, then merged by frequency. A species name (or tag) that a list holds is looked up in the
lists too, so that a name the database does not know ("Fe II" from a SLAP service) is not an
error; a name nobody holds is the database's error (:class:`UnknownSpeciesError`). In a list,
species match by name (case-insensitive) or CDMS/JPL tag; a line whose E_up or A_ij the list
does not give (NaN) fails a filter on that quantity.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from cassis_lite.errors import UnknownSpeciesError
from cassis_lite.linedb.database import Transitions


def concat(parts) -> Transitions:
    """One ``Transitions`` of all the parts, sorted by frequency (stable: equal frequencies keep
    the parts' order)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Transitions.empty()
    if len(parts) == 1:
        return parts[0]
    joined = Transitions(**{f.name: np.concatenate([np.asarray(getattr(p, f.name)) for p in parts])
                            for f in fields(Transitions)})
    return joined[np.argsort(joined.freq_mhz, kind="stable")]


def _key(name) -> str:
    return str(name).strip().lower()


def named(t: Transitions, name: str) -> Transitions:
    """The list with ``name`` as the source of the lines whose source it does not say."""
    sources = np.asarray(t.sources, dtype=object)
    return replace(t, sources=np.where(sources == "", name, sources).astype(str))


def species_mask(t: Transitions, species) -> np.ndarray:
    """Rows whose species name (case-insensitive) or tag is one of ``species``."""
    names, tags = set(), set()
    for s in species:
        text = str(s).strip()
        if text.lstrip("-").isdigit():
            tags.add(int(text))
        names.add(_key(text))
    by_name = np.isin(np.char.lower(np.asarray(t.species_names, dtype=str)), sorted(names))
    return by_name | np.isin(np.asarray(t.tags), sorted(tags))


def select(t: Transitions, fmin_mhz: float, fmax_mhz: float, species=None, eup_max_k=None,
           aij_min=None) -> Transitions:
    """The rows of one list in [fmin_mhz, fmax_mhz] passing the filters (None: no filter)."""
    keep = (t.freq_mhz >= fmin_mhz) & (t.freq_mhz <= fmax_mhz)
    if species is not None:
        keep &= species_mask(t, species)
    if eup_max_k is not None:
        keep &= t.eup_k <= float(eup_max_k)  # NaN compares False: a line without E_up fails
    if aij_min is not None:
        keep &= t.aij >= float(aij_min)
    return t[keep]


def held_by(lists, species) -> set[str]:
    """The names of ``species`` that one of the lists holds."""
    out = set()
    for s in species:
        if any(species_mask(t, [s]).any() for t in lists):
            out.add(s)
    return out


def _known(db, name) -> bool:
    try:
        db.find_species(name)
    except UnknownSpeciesError:
        return False
    return True


def transitions(db, lists, fmin_mhz, fmax_mhz, species=None, eup_max_k=None, aij_min=None) -> Transitions:
    """``db.transitions(...)`` and the lists' rows for the same query, merged by frequency.

    ``lists``: the ``Transitions`` of each list (their ``sources`` column says where each line
    came from)."""
    lists = [t for t in lists if len(t)]
    if not lists:
        return db.transitions(fmin_mhz, fmax_mhz, species=species, eup_max_k=eup_max_k, aij_min=aij_min)
    fmin, fmax = float(fmin_mhz), float(fmax_mhz)
    parts = []
    wanted = None if species is None else [s for s in species if str(s).strip()]
    in_lists = set() if wanted is None else held_by(lists, wanted)
    from_db = None if wanted is None else [s for s in wanted if s not in in_lists or _known(db, s)]
    if from_db is None or from_db:
        parts.append(db.transitions(fmin, fmax, species=from_db, eup_max_k=eup_max_k, aij_min=aij_min))
    for t in lists:
        parts.append(select(t, fmin, fmax, species=wanted, eup_max_k=eup_max_k, aij_min=aij_min))
    return concat(parts)
