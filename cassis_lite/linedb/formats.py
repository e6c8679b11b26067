"""Parsers for the catalogue formats the line database is built from.

Pure Python + NumPy (runs in Pyodide too). Each parser takes the text of one file and returns
plain records; nothing here touches SQLite.

* JPL/CDMS ``.cat`` (Pickett 1991, JPL catalogue format, https://spec.jpl.nasa.gov/ftp/pub/catalog/doc/catintro.pdf):
  fixed columns FREQ F13.4, ERR F8.4, LGINT F8.4, DR I2, ELO F10.4, GUP I3, TAG I7, QNFMT I4,
  QN 12 x I2. Integer fields too wide for their columns are letter coded (``A0`` = 100,
  ``a0`` = -10, GUP ``A71`` = 1071); a negative TAG marks an experimental frequency.
* CDMS ``partfunc.cat`` (pipe table of log10 Q at 1000 ... 2.725 K) and JPL ``catdir.cat``
  (log10 Q at 300 ... 9.375 K).
* LAMDA molecular data files (Schoier et al. 2005, A&A 432, 369): ``!`` comment lines, then
  name, weight, levels, radiative transitions, and for each collision partner its LAMDA id
  (1 H2, 2 p-H2, 3 o-H2, 4 e, 5 H, 6 He, 7 H+), temperatures and downward rate coefficients.
* Morton (2003, ApJS 149, 205) table 2 as shipped by linetools.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import CM1_TO_K, CM1_TO_MHZ

# Temperatures of the CDMS partfunc.cat columns, in file order.
CDMS_PARTFUNC_T = (1000.0, 500.0, 300.0, 225.0, 150.0, 75.0, 37.5, 18.75, 9.375, 5.0, 2.725)
# Temperatures of the JPL catdir.cat columns, in file order.
JPL_CATDIR_T = (300.0, 225.0, 150.0, 75.0, 37.5, 18.75, 9.375)


class FormatError(ValueError):
    """A catalogue line or file does not follow its format (message names the line)."""


# --------------------------------------------------------------------------- .cat format
def decode_int(text: str) -> int:
    """Decode a JPL/CDMS integer field that may be letter coded.

    The first character of a field too narrow for its value is a letter: ``A``..``Z`` stand
    for 10..35 and ``a``..``z`` for -1..-26 times the power of ten of the remaining digits
    (``A0`` = 100, ``H8`` = 178, ``b3`` = -23, GUP ``A71`` = 1071).
    """
    s = text.strip()
    if not s:
        raise FormatError("empty integer field")
    c = s[0]
    if c.isalpha():
        rest = s[1:]
        if rest and not rest.isdigit():
            raise FormatError(f"bad letter-coded integer {text!r}")
        scale = 10 ** len(rest)
        tail = int(rest) if rest else 0
        if c.isupper():
            return (ord(c) - ord("A") + 10) * scale + tail
        return -((ord(c) - ord("a") + 1) * scale + tail)
    return int(s)


@dataclass
class CatLine:
    freq_mhz: float
    err_mhz: float
    lgint: float
    dr: int
    elow_cm: float
    gup: int
    tag: int  # as written: negative when the frequency is experimental
    qnfmt: int
    qn_up: tuple
    qn_low: tuple

    @property
    def experimental(self) -> bool:
        return self.tag < 0

    @property
    def qn_text(self) -> str:
        up = " ".join(str(q) for q in self.qn_up)
        low = " ".join(str(q) for q in self.qn_low)
        return f"{up} -> {low}"


def _qn_fields(text: str, n: int) -> tuple:
    out = []
    for i in range(n):
        f = text[2 * i: 2 * i + 2]
        out.append(decode_int(f) if f.strip() else None)
    return tuple(q for q in out if q is not None)


# Column boundaries (start of FREQ, ERR, LGINT, DR, ELO, GUP, TAG, QNFMT, QN) of the two layouts:
# the catalogue files, and the answers of the CDMS search form (ERR and LGINT 11 wide).
CAT_LAYOUTS = {
    "catalog": (0, 13, 21, 29, 31, 41, 44, 51, 55),
    "cdms_query": (0, 13, 24, 35, 37, 47, 50, 57, 61),
}


def parse_cat_line(line: str, layout: str = "catalog") -> CatLine:
    """Parse one line of a JPL/CDMS ``.cat`` catalogue.

    Quantum numbers: 6 two-character fields per state in the standard 80-column line; some
    CDMS files (NH3 with hyperfine structure) use 10 per state (95-column lines), recognised
    from the line length when the extra columns hold only numbers.
    """
    line = line.rstrip("\r\n")
    c = CAT_LAYOUTS[layout]
    if len(line) < c[8]:
        raise FormatError(f"line too short for the .cat format: {line!r}")
    try:
        freq = float(line[c[0]:c[1]])
        err = float(line[c[1]:c[2]])
        lgint = float(line[c[2]:c[3]])
        dr = int(line[c[3]:c[4]])
        elow = float(line[c[4]:c[5]])
        gup = decode_int(line[c[5]:c[6]])
        tag = int(line[c[6]:c[7]])
        qnfmt = int(line[c[7]:c[8]])
    except (ValueError, FormatError) as exc:
        raise FormatError(f"{exc} in .cat line {line.rstrip()!r}") from None
    nqn = qnfmt % 10 or 6
    q0 = c[8]
    half = 12
    if len(line) > q0 + 25 and re.fullmatch(r"[-\d ]*", line[q0 + 24:]):
        half = ((len(line) - q0) // 4) * 2
    qn = line[q0:q0 + 2 * half].ljust(2 * half)
    if err < 0:  # JPL convention: frequency and error given in cm^-1
        freq *= CM1_TO_MHZ
        err = -err * CM1_TO_MHZ
    try:
        qn_up, qn_low = _qn_fields(qn[:half], nqn), _qn_fields(qn[half:], nqn)
    except (ValueError, FormatError) as exc:
        raise FormatError(f"{exc} in the quantum numbers of .cat line {line.rstrip()!r}") from None
    return CatLine(freq, err, lgint, dr, elow, gup, tag, qnfmt, qn_up, qn_low)


def parse_cat(text: str, layout: str = "catalog") -> list[CatLine]:
    """Parse a whole ``.cat`` file (or the ``<pre>`` block of a CDMS/JPL query answer)."""
    out = []
    for line in text.splitlines():
        if len(line) < 55 or not re.match(r"^\s*-?\d+\.\d*$", line[:13]):
            continue  # HTML wrapper, species header lines of a query answer, blank lines
        out.append(parse_cat_line(line, layout))
    return out


def lgint_to_aij(lgint, freq_mhz, elow_cm, gup, log10_q300):
    """Einstein A (s^-1) from a JPL/CDMS catalogue intensity at 300 K.

    Pickett et al. (1998, JQSRT 60, 883), eqs. as used by CDMS and CASSIS:
    S mu^2 = I Q(300) 24025.120666 / (nu (exp(-E_l/kT) - exp(-E_u/kT))),
    A = 1.16395e-20 nu^3 S mu^2 / g_u, with I = 10^LGINT (nm^2 MHz), nu in MHz, T = 300 K,
    E in cm^-1 converted with hc/k.
    """
    freq_mhz = np.asarray(freq_mhz, dtype=float)
    elow_k = np.asarray(elow_cm, dtype=float) * CM1_TO_K
    eup_k = elow_k + freq_mhz / CM1_TO_MHZ * CM1_TO_K
    t = 300.0
    boltz = np.exp(-elow_k / t) - np.exp(-eup_k / t)
    s_mu2 = 10.0 ** np.asarray(lgint, dtype=float) * 10.0 ** log10_q300 * 24025.120666 / (freq_mhz * boltz)
    return 1.16395e-20 * freq_mhz**3 * s_mu2 / np.asarray(gup, dtype=float)


def aij_to_smu2(aij, freq_mhz, gup):
    """Line strength S mu^2 (Debye^2) from the Einstein A (s^-1): the inverse of the second
    step of :func:`lgint_to_aij`, S mu^2 = A g_u / (1.16395e-20 nu^3), nu in MHz (Pickett et al.
    1998, JQSRT 60, 883). NaN where A or g_u is 0 (not given by the source)."""
    a = np.asarray(aij, dtype=float)
    g = np.asarray(gup, dtype=float)
    f = np.asarray(freq_mhz, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a * g / (1.16395e-20 * f**3)
    return np.where((a > 0) & (g > 0) & (f > 0), out, np.nan)


def smu2_to_lgint(smu2, freq_mhz, elow_cm, log10_q300):
    """The CDMS/JPL catalogue intensity at 300 K, log10 I (I in nm^2 MHz), from S mu^2 (D^2):
    the inverse of the first step of :func:`lgint_to_aij`,
    I = nu S mu^2 (exp(-E_l/kT) - exp(-E_u/kT)) / (Q(300) 24025.120666), T = 300 K.
    NaN where S mu^2 or Q(300) is unknown (NaN)."""
    freq_mhz = np.asarray(freq_mhz, dtype=float)
    elow_k = np.asarray(elow_cm, dtype=float) * CM1_TO_K
    eup_k = elow_k + freq_mhz / CM1_TO_MHZ * CM1_TO_K
    boltz = np.exp(-elow_k / 300.0) - np.exp(-eup_k / 300.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.asarray(smu2, dtype=float) * freq_mhz * boltz
                        / (10.0 ** np.asarray(log10_q300, dtype=float) * 24025.120666))


# --------------------------------------------------------------------- partition tables
def parse_cdms_partfunc(text: str) -> dict[int, tuple[str, list[tuple[float, float]]]]:
    """CDMS ``partfunc.cat`` -> {tag: (molecule, [(T, log10 Q), ...])}; ``nan`` cells dropped."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 + len(CDMS_PARTFUNC_T) or not cells[0].isdigit():
            continue
        tag, name = int(cells[0]), cells[1]
        values = cells[3:3 + len(CDMS_PARTFUNC_T)]
        pts = []
        for t, v in zip(CDMS_PARTFUNC_T, values):
            try:
                q = float(v)
            except ValueError:
                continue
            if math.isfinite(q):
                pts.append((t, q))
        out[tag] = (name, sorted(pts))
    return out


def parse_jpl_catdir(text: str) -> dict[int, tuple[str, list[tuple[float, float]]]]:
    """JPL ``catdir.cat`` -> {tag: (name, [(T, log10 Q), ...])}.

    Columns: TAG I6, NAME A13, NLINE I6, then log10 Q at 300, 225, 150, 75, 37.5, 18.75, 9.375 K.
    """
    out = {}
    for line in text.splitlines():
        if len(line) < 26 or not line[:6].strip().isdigit():
            continue
        tag = int(line[:6])
        name = line[7:20].strip()
        fields = line[26:].split()
        pts = []
        for t, v in zip(JPL_CATDIR_T, fields):
            try:
                pts.append((t, float(v)))
            except ValueError:
                break
        out[tag] = (name, sorted(pts))
    return out


# -------------------------------------------------------------------------------- LAMDA
#: LAMDA collision-partner ids (the first character of a partner's header line, as RADEX reads it)
LAMDA_PARTNERS = {1: "H2", 2: "pH2", 3: "oH2", 4: "e", 5: "H", 6: "He", 7: "H+"}

# Comment lines that only name the next section (not notes or references)
_SECTION_HEADER = re.compile(r"^\s*(MOLECULE|MOLECULAR WEIGHT|MASS|WEIGHT|NUMBER|LEVEL|TRANS|COLL|TEMPERATURE|NOTES"
                             r"|COMMENTS|ENERGY LEVELS|RADIATIVE)|^\W*$", re.IGNORECASE)


@dataclass
class LamdaLevel:
    index: int
    energy_cm: float
    weight: float
    label: str


@dataclass
class LamdaLine:
    up: int
    low: int
    aij: float
    freq_ghz: float
    eup_k: float | None


@dataclass
class LamdaPartner:
    """Collision rates with one partner: downward rate coefficients ``rates_cm3s[i, k]`` (cm^3 s^-1)
    of the transition ``up[i]`` -> ``low[i]`` (level numbers from 1) at ``temperatures_k[k]``."""

    lamda_id: int
    reference: str
    temperatures_k: np.ndarray
    up: np.ndarray
    low: np.ndarray
    rates_cm3s: np.ndarray

    @property
    def name(self) -> str:
        return LAMDA_PARTNERS[self.lamda_id]


@dataclass
class LamdaFile:
    name: str
    weight: float
    levels: list[LamdaLevel] = field(default_factory=list)
    lines: list[LamdaLine] = field(default_factory=list)
    partners: list[LamdaPartner] = field(default_factory=list)
    notes: str = ""  # comment lines that are not section headers (references, remarks)

    def level(self, index: int) -> LamdaLevel:
        return self.levels[index - 1]


def parse_lamda(text: str, filename: str = "LAMDA file") -> LamdaFile:
    """Parse a LAMDA data file: molecule name, levels, radiative transitions and collision rates.

    Lines starting with ``!`` are comments, and so is any text line where a number is
    expected (some files lack the ``!`` on a section header). Text after ``!`` on a data line
    is dropped. A file may end after its radiative transitions (no collision data). A partner
    is identified, as RADEX does, by the first character of its header line.
    """
    raw = [ln.rstrip() for ln in text.splitlines()]
    notes = [ln.lstrip()[1:].strip() for ln in raw if ln.lstrip().startswith("!")]
    rows = [ln for ln in raw if ln.strip() and not ln.lstrip().startswith("!")]
    pos = 0

    def next_row(kind: str) -> str:
        nonlocal pos
        if pos >= len(rows):
            raise FormatError(f"{filename}: file ends before the {kind}")
        pos += 1
        return rows[pos - 1]

    def next_number(kind: str, conv):
        while True:
            row = next_row(kind).split("!")[0]
            try:
                return conv(row.split()[0])
            except (ValueError, IndexError):
                continue  # an un-commented header line

    def numbers(row: str, kind: str) -> list[float]:
        try:
            return [float(x) for x in row.split("!")[0].split()]
        except ValueError:
            raise FormatError(f"{filename}: bad {kind} line {row!r}") from None

    name = next_row("molecule name").strip()
    weight = next_number("molecular weight", float)
    nlev = next_number("number of levels", int)
    lam = LamdaFile(name=name, weight=weight,
                    notes="\n".join(n for n in notes if not _SECTION_HEADER.match(n)))
    for i in range(nlev):
        row = next_row(f"level {i + 1}").split("!")[0]
        parts = row.split(None, 3)
        try:
            idx, e, g = int(parts[0]), float(parts[1]), float(parts[2])
        except (ValueError, IndexError):
            raise FormatError(f"{filename}: bad level line {row!r}") from None
        if idx != i + 1:
            raise FormatError(f"{filename}: level {idx} found where level {i + 1} expected")
        label = parts[3].strip().strip("'\"").strip() if len(parts) > 3 else ""
        lam.levels.append(LamdaLevel(idx, e, g, label))
    nrad = next_number("number of radiative transitions", int)
    for i in range(nrad):
        row = next_row(f"radiative transition {i + 1}").split("!")[0]
        parts = row.split()
        try:
            up, low, a, f = int(parts[1]), int(parts[2]), float(parts[3]), float(parts[4])
        except (ValueError, IndexError):
            raise FormatError(f"{filename}: bad radiative transition line {row!r}") from None
        eu = float(parts[5]) if len(parts) > 5 else None
        if not (1 <= low <= nlev and 1 <= up <= nlev):
            raise FormatError(f"{filename}: transition {i + 1} refers to a level outside 1..{nlev}")
        lam.lines.append(LamdaLine(up, low, a, f, eu))
    if pos == len(rows):
        return lam
    npart = next_number("number of collision partners", int)
    for p in range(npart):
        while True:
            header = next_row(f"header of collision partner {p + 1}").strip()
            if header[:1].isdigit():
                break
        if int(header[0]) not in LAMDA_PARTNERS:
            raise FormatError(f"{filename}: unknown collision partner id {header[0]} in {header!r}")
        ncoll = next_number("number of collisional transitions", int)
        ntemp = next_number("number of collision temperatures", int)
        temps: list[float] = []
        while len(temps) < ntemp:
            temps += numbers(next_row("collision temperatures"), "collision temperature")
        table = [numbers(next_row(f"collisional transition {i + 1}"), "collision rate") for i in range(ncoll)]
        if any(len(r) < 3 + ntemp for r in table):
            raise FormatError(f"{filename}: a collisional transition of partner {p + 1} has fewer than "
                              f"{ntemp} rates")
        arr = np.array([r[:3 + ntemp] for r in table], dtype=float).reshape(ncoll, 3 + ntemp)
        up, low = arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64)
        if ncoll and not (up.min() >= 1 and low.min() >= 1 and max(up.max(), low.max()) <= nlev):
            raise FormatError(f"{filename}: a collisional transition of partner {p + 1} refers to a level "
                              f"outside 1..{nlev}")
        lam.partners.append(LamdaPartner(int(header[0]), " ".join(header[1:].split()), np.array(temps[:ntemp]),
                                         up, low, arr[:, 3:]))
    return lam


def log10_q_from_levels(energy_cm, weight, temperatures_k):
    """log10 Q(T) = log10 sum_i g_i exp(-E_i / kT), energies in cm^-1 (same zero as the file)."""
    e_k = np.asarray(energy_cm, dtype=float)[None, :] * CM1_TO_K
    g = np.asarray(weight, dtype=float)[None, :]
    t = np.asarray(temperatures_k, dtype=float)[:, None]
    return np.log10(np.sum(g * np.exp(-e_k / t), axis=1))


def truncation_temperature(energy_cm, weight, fraction=0.01, t_cap=1000.0):
    """Highest T (<= t_cap) at which the top level of a truncated ladder holds < ``fraction``
    of the population: above it the missing levels make Q(T) too small by about that much."""
    e = np.asarray(energy_cm, dtype=float) * CM1_TO_K
    g = np.asarray(weight, dtype=float)
    top = int(np.argmax(e))

    def frac(t):
        w = g * np.exp(-(e - e.min()) / t)
        return w[top] / w.sum()

    if frac(t_cap) < fraction:
        return t_cap
    lo, hi = 1e-3, t_cap
    if frac(lo) >= fraction:
        return 0.0
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if frac(mid) < fraction:
            lo = mid
        else:
            hi = mid
    return lo


# ------------------------------------------------------------------------ Morton 2003
@dataclass
class MortonLine:
    ion: str
    wavelength_vac_a: float
    elow_cm: float
    eup_cm: float
    gl: int
    gu: int
    aij: float
    term: str
    f_osc: float = math.nan  # absorption oscillator strength
    gamma_s: float | None = None  # damping constant (s^-1): sum of the upper level's A; None when Morton gives none


_NUM = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([Ee][-+]?\d+)?$")


def parse_morton03(text: str) -> list[MortonLine]:
    """Parse Morton (2003) table 2 (linetools ``morton03_table2.dat``): vacuum wavelength, levels,
    weights, A, the damping constant Gamma where given and the oscillator strength f.

    Ion headers (``C II   2s2(1S)2p 2Po J=1/2 GROUND ...``) set the current ion (first 7
    columns); multiplet headers set the upper term; ``MltMean`` rows (multiplet means) are
    skipped. A data row ends with ``... Elow Eup [:|F] gl gu A [Gamma] f loggf logwf [err]``:
    it is read from the first number in E-notation (A), counting back to the wavelength.
    """
    out = []
    ion = None
    term = ""
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if "GROUND" in raw[:60] and not raw.startswith(" "):
            ion, term = raw[:7].strip(), ""
            continue
        if ion is None or raw.startswith("MltMean") or raw.startswith("Mult") or raw.startswith(" No."):
            continue
        toks = [t for t in raw.split() if _NUM.match(t)]  # drops ':' and quality flags ('F')
        e_idx = [i for i, t in enumerate(toks) if "E" in t]
        if not e_idx or e_idx[0] < 5 or not raw.startswith(" " * 6):
            if "Ref" in raw:  # multiplet header: " 1u    2p 2Po      All  Ref P98"
                term = re.split(r"\s{2,}", raw[6:].strip())[0]
            continue
        ia = e_idx[0]
        try:
            gl, gu = int(toks[ia - 2]), int(toks[ia - 1])
            eup, elow = float(toks[ia - 3]), float(toks[ia - 4])
            wl = float(toks[ia - 5])
            aij = float(toks[ia])
        except (ValueError, IndexError):
            continue
        # A column blank: the first E-number is then f, recognised by Morton's own column
        # log wf = log10(lambda f) two places later; A = 0.6670e16 g_l f / (g_u lambda^2)
        rest = toks[ia + 1:]
        gamma = None
        if ia + 2 < len(toks) and "E" not in toks[ia + 2] and aij > 0 \
                and abs(math.log10(wl * aij) - float(toks[ia + 2])) < 0.01:
            f_osc = aij
            aij = 0.6670e16 * gl * aij / (gu * wl**2)
        elif len(rest) >= 2 and "E" in rest[0] and "E" in rest[1]:
            gamma, f_osc = float(rest[0]), float(rest[1])  # A Gamma f
        elif rest and "E" in rest[0]:
            f_osc = float(rest[0])  # A f (no Gamma given)
        else:
            f_osc = math.nan
        out.append(MortonLine(ion, wl, elow, eup, gl, gu, aij, term, f_osc, gamma))
    return out
