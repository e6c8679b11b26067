"""Species names in the catalogues' several spellings: formula, isotopes, isomer, charge, state.

The same molecule is written ``(13)CH3CN`` (Splatalogue), ``13CH3CN`` (CDMS directory),
``C-13-H3CN`` (CDMS partition-function table, JPL), and its state ``v = 0``, ``v=0``,
``vt=0,1`` or ``vt = 0-2``. :func:`parse_species` reads all of them into a :class:`SpeciesName`
whose :attr:`~SpeciesName.composition` (element, mass number, count; D is H-2) and
:attr:`~SpeciesName.states` compare across catalogues; :attr:`~SpeciesName.parent` is the
composition with the isotopes removed (the isotopologue family), used to list variants.

Pure Python (runs in Pyodide): used at build time to recognise one species in several
catalogues, and by :meth:`LineDatabase.variants` to list isotopologues and states.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAG = re.compile(r"<[^>]*>")
_ISOMER = re.compile(r"^(cis|trans|gauche|anti|ortho|para|[a-z]{1,2})-(?=[A-Z(0-9])")
#: mass numbers of the main isotopes (a bare element symbol means these)
MAIN_ISOTOPE = {"H": 1, "He": 4, "Li": 7, "Be": 9, "B": 11, "C": 12, "N": 14, "O": 16, "F": 19, "Ne": 20,
                "Na": 23, "Mg": 24, "Al": 27, "Si": 28, "P": 31, "S": 32, "Cl": 35, "Ar": 40, "K": 39,
                "Ca": 40, "Sc": 45, "Ti": 48, "V": 51, "Cr": 52, "Mn": 55, "Fe": 56, "Co": 59, "Ni": 58,
                "Cu": 63, "Zn": 64, "Ga": 69, "Ge": 74, "As": 75, "Se": 80, "Br": 79, "Kr": 84, "Rb": 85,
                "Sr": 88, "Y": 89, "Zr": 90, "Nb": 93, "Mo": 98, "Ru": 102, "Rh": 103, "Pd": 106, "Ag": 107,
                "Cd": 114, "In": 115, "Sn": 120, "Sb": 121, "Te": 130, "I": 127, "Xe": 132, "Cs": 133,
                "Ba": 138, "Hf": 180, "W": 184, "Pt": 195, "Au": 197, "Hg": 202, "Pb": 208, "U": 238,
                "Ho": 165, "Ta": 181, "Os": 192, "Ir": 193, "Tl": 205, "Bi": 209, "La": 139, "Ce": 140}
_ELEMENT = re.compile(r"[A-Z][a-z]?")
_STATE_V = re.compile(r"^(v\w*?|vt)=([0-9]+(?:[-,][0-9]+)*)$")


def clean(text) -> str:
    """Text of a catalogue name or quantum-number label: HTML tags dropped, entities decoded
    (``&alpha;`` -> α), whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub("", str(text or ""))).replace("\xa0", " ").split())


@dataclass(frozen=True)
class SpeciesName:
    text: str  # as given (cleaned)
    formula: str  # the formula token
    isomer: str  # "", "c", "l", "t", "g", "o", "p", "cis", ...
    charge: int
    composition: tuple | None  # ((element, mass, count), ...) sorted; None if not a formula
    written: str  # the formula as written, isotopes in one notation ("(13)CH3CN", "H2(18)O")
    states: tuple  # ((label, frozenset of ints), ...) vibrational labels; v=0 ground implied
    other: str  # the rest of the state text (electronic state, hfs, a-type...), normalised

    @property
    def parent(self) -> tuple | None:
        """Composition without isotopes (D counted as H): the isotopologue family."""
        if self.composition is None:
            return None
        out: dict = {}
        for el, _, n in self.composition:
            out[el] = out.get(el, 0) + n
        return tuple(sorted(out.items())), self.charge

    def same_molecule(self, other: "SpeciesName", strict_isomer: bool = False, by_composition: bool = False) -> bool:
        """Same molecule: the same formula as written (isotopes in one notation: ``C-13-H3CN`` =
        ``(13)CH3CN`` = ``13CH3CN``), charge and isomer (a missing isomer prefix matches any but
        o-/p-). Isomers (HCN, HNC) and isotopomers (``(13)CCH``, ``C(13)CH``) differ; with
        ``by_composition`` only the atoms are compared (for a match confirmed otherwise)."""
        if self.composition is None or other.composition is None:
            return False
        if self.charge != other.charge:
            return False
        if (self.composition != other.composition) if by_composition else (self.written != other.written):
            return False
        if self.isomer == other.isomer:
            return True
        return not strict_isomer and "" in (self.isomer, other.isomer) and {"o", "p"}.isdisjoint(
            {self.isomer, other.isomer})

    def covers(self, other: "SpeciesName") -> bool:
        """Whether this species' states include all of ``other``'s (same molecule assumed):
        ``v=0-10`` covers ``v=3``; no state means the ground state (v=0)."""
        if _norm_other(self.other) != _norm_other(other.other):
            return False
        mine, theirs = dict(self.states), dict(other.states)
        for label, values in theirs.items():
            have = mine.get(label, frozenset({0}))
            if not values <= have:
                return False
        for label, values in mine.items():  # a label only we name must include its ground state
            if label not in theirs and 0 not in values:
                return False
        return True


def _norm_other(s: str) -> str:
    return s.replace(" ", "").lower()


def parse_species(text) -> SpeciesName:
    """Read a species name of any of the catalogues (module docstring)."""
    s = clean(text)
    if "," in s.split(" ")[0]:  # "HCN, v=0", "SiO, v=0-10" (CDMS/JPL directories)
        formula, _, rest = s.partition(",")
    else:
        formula, _, rest = s.partition(" ")
    formula = formula.strip()
    if formula.endswith("-atom"):  # CDMS "C-atom", JPL "H-atom"
        formula = formula[:-5]
    isomer = ""
    m = _ISOMER.match(formula)
    if m:
        isomer = {"ortho": "o", "para": "p", "trans": "t", "gauche": "g"}.get(m.group(1), m.group(1))
        formula = formula[m.end():]
    charge = 0
    formula = written_formula(formula)  # isotopes first: "CO-18-+" is C(18)O+, not a dication
    core = formula
    while core.endswith(("+", "-")) and len(core) > 1 and not core.endswith("--"):
        charge += 1 if core[-1] == "+" else -1
        core = core[:-1]
    comp = composition(core)
    states, other = _parse_state(rest)
    return SpeciesName(s, formula, isomer, charge, comp, core, states, other)


def written_formula(formula: str) -> str:
    """The formula with its isotopes in one notation, order kept: ``C-13-H3CN``, ``13CH3CN``,
    ``(13)CH3CN`` -> ``(13)CH3CN``; ``H2O-18`` -> ``H2(18)O``; ``HCl-37`` -> ``H(37)Cl``."""
    f = re.sub(r"([A-Z][a-z]?)-(\d+)-?", r"(\2)\1", formula.strip())
    return re.sub(r"^(\d+)(?=[A-Z])", r"(\1)", f)


def _parse_state(rest: str):
    """(v-labels, other text) of a state description: 'v = 0', 'vt=0,1', 'v4=1,v7=1', '3Sigma v=1'."""
    txt = re.sub(r"\s*=\s*", "=", rest)
    txt = re.sub(r"(\d)\s*([-,])\s*(?=\d)", r"\1\2", txt).strip(" ,")
    labels: dict = {}
    others = []
    # split into items at spaces and commas that start a new "x=" item
    items = re.split(r"[\s,]+(?=[A-Za-z][\w^]*=)|\s+", txt) if txt else []
    for item in items:
        item = item.strip(" ,")
        if not item:
            continue
        m = _STATE_V.match(item.replace(" ", ""))
        if m:
            labels[m.group(1)] = frozenset(_values(m.group(2)))
        else:
            others.append(item)
    return tuple(sorted(labels.items())), " ".join(others)


def _values(text: str) -> set:
    out: set = set()
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out |= set(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def composition(formula: str) -> tuple | None:
    """((element, mass number, count), ...) of a formula in any catalogue's notation, or None
    when ``formula`` is not one (``Ethylene oxide``). Isotopes: ``(13)C``, ``13C`` at the start
    or after a group, ``C-13-`` / ``C-13`` (JPL, CDMS tables), D = H-2."""
    f = formula.strip()
    if not f or not re.fullmatch(r"[A-Za-z0-9()\-]+", f):
        return None
    # JPL/CDMS "C-13-" notation -> "(13)C"
    f = re.sub(r"([A-Z][a-z]?)-(\d+)-?", r"(\2)\1", f)
    counts: dict = {}
    try:
        _parse_group(f, 0, counts, 1)
    except ValueError:
        return None
    if not counts:
        return None
    return tuple(sorted((el, m, n) for (el, m), n in counts.items()))


def _parse_group(f: str, i: int, counts: dict, mult: int) -> int:
    """Parse formula ``f`` from ``i`` into ``counts`` (x ``mult``) up to a ')' or the end."""
    iso = None
    while i < len(f):
        ch = f[i]
        if ch == "(":
            j = f.index(")", i)
            inner = f[i + 1:j]
            if inner.isdigit():  # isotope label for the next element
                iso = int(inner)
                i = j + 1
                continue
            sub: dict = {}
            end = _parse_group(f, i + 1, sub, 1)
            i = end + 1
            n, i = _number(f, i)
            for k, v in sub.items():
                counts[k] = counts.get(k, 0) + v * n * mult
            continue
        if ch == ")":
            return i
        if ch.isdigit():  # a leading mass number ("13CO", "13CH3OH")
            n, j = _number(f, i)
            if j < len(f) and f[j].isupper() and (i == 0 or f[i - 1] == ")"):
                iso = n
                i = j
                continue
            raise ValueError(f"digits in an unexpected place of {f!r}")
        m = _ELEMENT.match(f, i)
        if not m:
            raise ValueError(f"not a formula: {f!r}")
        el = m.group(0)
        if el not in MAIN_ISOTOPE and el != "D":
            if el[0] in MAIN_ISOTOPE and len(el) == 2:  # "Co" may be C + o? no: unknown symbol
                raise ValueError(f"unknown element {el!r}")
            raise ValueError(f"unknown element {el!r}")
        i = m.end()
        n, i = _number(f, i)
        if el == "D":
            el, mass = "H", 2
        else:
            mass = iso if iso is not None else MAIN_ISOTOPE[el]
        iso = None
        counts[(el, mass)] = counts.get((el, mass), 0) + n * mult
    return i


def _number(f: str, i: int) -> tuple[int, int]:
    j = i
    while j < len(f) and f[j].isdigit():
        j += 1
    return (int(f[i:j]) if j > i else 1), j


def plain_formula(name: SpeciesName) -> str:
    """The formula with its isomer prefix and charge, as CASSIS lite stores it (``c-C3H2``, ``HCO+``)."""
    pre = f"{name.isomer}-" if name.isomer else ""
    return pre + name.formula


# ------------------------------------------------------------------ variants and the tie rule
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)|(\()|(\)\d*)|(.)")


def skeleton(written: str) -> str:
    """The formula of the main isotopologue, atom order kept: isotope labels dropped, D read as
    H, neighbouring atoms of one element merged: ``CH3(13)CN``, ``(13)CH3CN``, ``CH2DCN`` ->
    ``CH3CN``; ``HDO`` -> ``H2O``. Isomers stay apart (``CH3NC``, ``HNC``)."""
    f = re.sub(r"\(\d+\)", "", written)
    out: list = []  # [element, count] or a literal string
    for m in _TOKEN.finditer(f):
        el, n = m.group(1), m.group(2)
        if el is None:
            out.append(m.group(0))
            continue
        el = "H" if el == "D" else el
        n = int(n) if n else 1
        if out and isinstance(out[-1], list) and out[-1][0] == el:
            out[-1][1] += n
        else:
            out.append([el, n])
    return "".join(x if isinstance(x, str) else x[0] + (str(x[1]) if x[1] > 1 else "") for x in out)


def family_key(text) -> tuple | None:
    """What the isotopologues and states of one molecule share: (skeleton, charge, isomer but
    ortho/para); None when ``text`` is not a formula."""
    n = parse_species(text)
    if n.composition is None:
        return None
    return skeleton(n.written), n.charge, "" if n.isomer in ("o", "p") else n.isomer


def is_ground_state(text) -> bool:
    """Whether a species name is its molecule's ground state: every vibrational label includes 0
    (``v=0``, ``vt=0-2``, none), and no other state text but a catalogue label in parentheses
    (``CO (CDMS)``) or a neutral atom's ``I``."""
    n = parse_species(text)
    if any(0 not in values for _, values in n.states):
        return False
    other = re.sub(r"\(.*\)", "", n.other).strip()
    return other in ("", "I")
