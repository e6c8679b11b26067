"""Read access to a CASSIS lite line database (SQLite): species, transitions, partition functions,
and the non-LTE data (levels, lines, collision rates) of the species that have them."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from cassis_lite.errors import (
    AmbiguousSpeciesError,
    DatabaseError,
    QueryError,
    RadexError,
    UnknownSpeciesError,
)
from cassis_lite.linedb.partition import PARTITION_KINDS, PartitionFunction
from cassis_lite.linedb.schema import REQUIRED_TABLES, unpack_rates

ENV_VAR = "CASSIS_LITE_DB"


def default_database_path() -> Path:
    """The bundled database (``cassis_lite/data/cassis_lite.db``), or ``$CASSIS_LITE_DB`` if set."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "data" / "cassis_lite.db"


@dataclass(frozen=True)
class Species:
    id: int
    tag: int | None
    name: str
    formula: str
    source: str
    n_lines: int = 0
    q_method: str | None = None
    q_source: str | None = None
    q_truncation_k: float | None = None
    note: str | None = None

    def __str__(self) -> str:
        return self.name


@dataclass
class Transitions:
    """Transitions sorted by frequency; equal-length arrays. ``t[mask]`` selects rows."""

    species_id: np.ndarray
    freq_mhz: np.ndarray
    err_mhz: np.ndarray  # NaN where the source gives no uncertainty (LAMDA, Morton)
    aij: np.ndarray  # s^-1
    elow_cm: np.ndarray  # cm^-1
    eup_k: np.ndarray  # K
    gup: np.ndarray
    qn: np.ndarray  # str
    species_names: np.ndarray  # str
    tags: np.ndarray  # int, -1 where the species has no CDMS/JPL tag
    sources: np.ndarray  # str: source database of each transition

    def __len__(self) -> int:
        return int(self.freq_mhz.shape[0])

    def __getitem__(self, item) -> "Transitions":
        if isinstance(item, (int, np.integer)):
            item = slice(item, item + 1 if item != -1 else None)
        return Transitions(**{f.name: getattr(self, f.name)[item] for f in fields(self)})

    @classmethod
    def empty(cls) -> "Transitions":
        f = np.zeros(0)
        return cls(np.zeros(0, dtype=np.int64), f, f, f, f, f, np.zeros(0, dtype=np.int64),
                   np.zeros(0, dtype=str), np.zeros(0, dtype=str), np.zeros(0, dtype=np.int64),
                   np.zeros(0, dtype=str))

    def to_records(self) -> list[dict]:
        """One dict per transition, in the CSV column order of ``cassis-lite lines``."""
        out = []
        for i in range(len(self)):
            err = float(self.err_mhz[i])
            out.append({
                "species": str(self.species_names[i]),
                "tag": int(self.tags[i]) if self.tags[i] >= 0 else None,
                "freq_mhz": float(self.freq_mhz[i]),
                "err_mhz": None if np.isnan(err) else err,
                "aij": float(self.aij[i]),
                "eup_k": float(self.eup_k[i]),
                "elow_cm": float(self.elow_cm[i]),
                "gup": int(self.gup[i]),
                "qn": str(self.qn[i]),
                "source": str(self.sources[i]),
            })
        return out


class LineDatabase:
    """A line database file opened read-only.

    >>> db = LineDatabase()                          # the bundled file
    >>> t = db.transitions(115000, 116000, species=["CO"])
    >>> db.partition_function("CO").q(100.0)
    """

    def __init__(self, path=None, immutable: bool = False):
        """``immutable``: the file cannot change while open (a file served by HTTP range reads in
        the browser, a read-only medium): SQLite then takes no locks and never looks for a
        journal (``?immutable=1``), which saves a request per query on a lazily fetched file."""
        self.path = Path(path) if path is not None else default_database_path()
        if not self.path.is_file():
            hint = " (build it with `make db`)" if path is None else ""
            raise DatabaseError(f"line database not found: {self.path}{hint}")
        try:
            uri = "file:" + urllib.parse.quote(self.path.as_posix()) + "?mode=ro" + ("&immutable=1" if immutable else "")
            self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            tables = {r[0] for r in self._con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read line database {self.path}: {exc}") from None
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            if {"catdir", "transitions"} <= tables:
                raise DatabaseError(
                    f"{self.path} is a CASSIS database, not a CASSIS lite one: convert it with "
                    f"`cassis-lite db import-cassis {self.path} --out NEW.db`")
            raise DatabaseError(f"{self.path} is not a CASSIS lite line database "
                                f"(missing tables: {', '.join(missing)})")
        try:
            self._load()
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read line database {self.path}: {exc}") from None

    def _load(self) -> None:
        self._sources = {r[0]: r[1] for r in self._con.execute("SELECT id, name FROM sources")}
        rows = self._con.execute(
            "SELECT id, tag, name, formula, source_id, n_lines, q_method, q_source, q_truncation_k, note "
            "FROM species ORDER BY id").fetchall()
        self._species = [Species(r[0], r[1], r[2], r[3], self._sources.get(r[4], "?"), r[5], r[6], r[7], r[8], r[9])
                         for r in rows]
        self._by_id = {s.id: s for s in self._species}
        n = max(self._by_id, default=0) + 1
        self._name_of = np.array([""] * n, dtype=object)
        self._tag_of = np.full(n, -1, dtype=np.int64)
        for s in self._species:
            self._name_of[s.id] = s.name
            self._tag_of[s.id] = s.tag if s.tag is not None else -1
        self._source_of = np.array([""] * (max(self._sources, default=0) + 1), dtype=object)
        for k, v in self._sources.items():
            self._source_of[k] = v
        self.meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        # rows stored in frequency order (build_fulldb.py, docs/fulldb.md): a window is one id range
        self._clustered = self.meta.get("transitions_order") == "freq_mhz"
        self._has_citations = bool(self._con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'citations'").fetchone())

    def close(self) -> None:
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"LineDatabase({str(self.path)!r})"

    # ------------------------------------------------------------------------- species
    def species(self, text: str | None = None) -> list[Species]:
        """All species, or those whose name or formula contains ``text`` (case-insensitive) or
        whose tag equals it, sorted by name."""
        out = self._species
        if text is not None and str(text).strip():
            q = str(text).strip()
            ql = q.lower()
            tag = _as_tag(q)
            out = [s for s in out if ql in s.name.lower() or ql in s.formula.lower()
                   or (tag is not None and s.tag == tag)]
        return sorted(out, key=lambda s: (s.name.lower(), s.name))

    def find_species(self, name_or_tag) -> Species:
        """One species from a Species, a tag (int or digits), or a name or formula.

        Exact name first (case-sensitive, then not), then formula. Several matches of a
        case-sensitive step are settled by the tie rule (:func:`tie_break`: the ground state before vibrational
        states, then the source's priority, :data:`SOURCE_PRIORITY`): ``"NH3"`` is ``NH3, v=0``
        (CDMS) in the full catalogue, not ``NH3 v2=1`` (JPL); ``"OH"`` is ``OH, v=0``. A tie
        left (``o-H2CO`` / ``p-H2CO``: two ground states of one source) raises
        :class:`AmbiguousSpeciesError` listing them, no match :class:`UnknownSpeciesError`.
        """
        if isinstance(name_or_tag, Species):
            if self._by_id.get(name_or_tag.id) == name_or_tag:
                return name_or_tag
            name_or_tag = name_or_tag.name
        tag = _as_tag(name_or_tag)
        if tag is not None:
            hits = [s for s in self._species if s.tag == tag]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise AmbiguousSpeciesError(f"tag {tag} matches several species: {_names(hits)}")
            if not isinstance(name_or_tag, str):
                raise UnknownSpeciesError(f"no species with tag {tag} in the line database")
        q = str(name_or_tag).strip()
        if not q:
            raise UnknownSpeciesError("empty species name")
        for exact, pred in ((True, lambda s: s.name == q), (False, lambda s: s.name.lower() == q.lower()),
                            (True, lambda s: s.formula == q), (False, lambda s: s.formula.lower() == q.lower())):
            hits = [s for s in self._species if pred(s)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                best = tie_break(hits) if exact else hits  # "CO" never picks "Co I" by the rule
                if len(best) == 1:
                    return best[0]
                raise AmbiguousSpeciesError(f"species {q!r} is ambiguous: {_names(best)}")
        near = self.species(q)[:8]
        hint = f"; did you mean: {_names(near)}" if near else ""
        raise UnknownSpeciesError(f"unknown species {q!r}{hint}")

    # ---------------------------------------------------------------------- transitions
    def transitions(self, fmin_mhz, fmax_mhz, species=None, eup_max_k=None, aij_min=None,
                    source=None) -> Transitions:
        """Transitions with fmin_mhz <= freq <= fmax_mhz, sorted by frequency.

        species: None (all) or a list of names/tags/Species; eup_max_k: keep E_up <= this;
        aij_min: keep A_ij >= this; source: a source database name (CDMS, JPL, LAMDA,
        Morton2003...) or a list of them.
        """
        fmin, fmax = _frequency_range(fmin_mhz, fmax_mhz)
        sql = ["SELECT species_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn, source_id "
               "FROM transitions WHERE freq_mhz >= ? AND freq_mhz <= ?"]
        args: list = [fmin, fmax]
        if species is not None:
            if isinstance(species, (str, int, np.integer, Species)):
                species = [species]
            ids = sorted({self.find_species(s).id for s in species})
            if not ids:
                return Transitions.empty()
            sql.append(f"AND species_id IN ({','.join('?' * len(ids))})")
            args += ids
        elif self._clustered:
            # line-driven (docs/fulldb.md, query a): the window's id range from two probes of the
            # frequency index, then the table pages of the window only (not the index leaves)
            sql[0] = sql[0].replace(
                "WHERE freq_mhz", "WHERE id BETWEEN (SELECT id FROM transitions WHERE freq_mhz >= ? ORDER BY freq_mhz "
                "LIMIT 1) AND (SELECT id FROM transitions WHERE freq_mhz <= ? ORDER BY freq_mhz DESC LIMIT 1) "
                "AND freq_mhz")
            args = [fmin, fmax, *args]
        if eup_max_k is not None:
            sql.append("AND eup_k <= ?")
            args.append(float(eup_max_k))
        if aij_min is not None:
            sql.append("AND aij >= ?")
            args.append(float(aij_min))
        if source is not None:
            names = [source] if isinstance(source, str) else list(source)
            by_name: dict[str, list[int]] = {}  # one database may come from several packages
            for k, v in self._sources.items():
                by_name.setdefault(v.lower(), []).append(k)
            unknown = [n for n in names if n.lower() not in by_name]
            if unknown:
                raise QueryError(f"unknown source database {unknown[0]!r}; known: "
                                 f"{', '.join(sorted(set(self._sources.values())))}")
            sids = sorted({k for n in names for k in by_name[n.lower()]})
            sql.append(f"AND source_id IN ({','.join('?' * len(sids))})")
            args += sids
        try:
            rows = self._con.execute(" ".join(sql), args).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read line database {self.path}: {exc}") from None
        if not rows:
            return Transitions.empty()
        cols = list(zip(*rows))
        sid = np.array(cols[0], dtype=np.int64)
        src = np.array(cols[8], dtype=np.int64)
        t = Transitions(
            species_id=sid,
            freq_mhz=np.array(cols[1], dtype=float),
            err_mhz=np.array([np.nan if e is None else e for e in cols[2]], dtype=float),
            aij=np.array(cols[3], dtype=float),
            elow_cm=np.array(cols[4], dtype=float),
            eup_k=np.array(cols[5], dtype=float),
            gup=np.array(cols[6], dtype=np.int64),
            qn=np.array([q or "" for q in cols[7]], dtype=str),
            species_names=self._name_of[sid].astype(str),
            tags=self._tag_of[sid],
            sources=self._source_of[src].astype(str),
        )
        # sorted here rather than by SQL ORDER BY: ~25 % faster on large windows
        order = np.lexsort((t.species_id, t.freq_mhz))
        if np.any(order != np.arange(len(order))):
            t = t[order]
        return t

    def model_lines(self, fmin_mhz, fmax_mhz, species, eup_max_k=None, aij_min=None) -> tuple:
        """(freq_mhz, aij, eup_k, gup) arrays of the transitions of ``species`` (a name, tag or
        Species, or a list of them) with fmin <= freq <= fmax, in the order of :meth:`transitions`:
        the columns an LTE model needs and no other, so that on a file indexed by (species,
        frequency, A_ij, E_up, g_up) (the full catalogue, docs/fulldb.md) SQLite answers from
        that covering index alone. A species' table rows lie about one per page of the
        frequency-ordered table: CH3OCHO over 200-300 GHz reads 4.3 MB of rows, ~140 KB of index
        (benchmarks/README.md)."""
        fmin, fmax = _frequency_range(fmin_mhz, fmax_mhz)
        if isinstance(species, (str, int, np.integer, Species)):
            species = [species]
        ids = sorted({self.find_species(s).id for s in species})
        sql = (f"SELECT species_id, freq_mhz, aij, eup_k, gup FROM transitions WHERE freq_mhz >= ? AND freq_mhz <= ? "
               f"AND species_id IN ({','.join('?' * len(ids))})")
        args: list = [fmin, fmax, *ids]
        if eup_max_k is not None:
            sql += " AND eup_k <= ?"
            args.append(float(eup_max_k))
        if aij_min is not None:
            sql += " AND aij >= ?"
            args.append(float(aij_min))
        try:
            rows = self._con.execute(sql, args).fetchall() if ids else []
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read line database {self.path}: {exc}") from None
        a = np.array(rows, dtype=float).reshape(-1, 5)
        order = np.lexsort((a[:, 0], a[:, 1]))  # as transitions(): by frequency, then species
        a = a[order]
        return a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy(), a[:, 4].copy()

    # ----------------------------------------------------------------- partition function
    def partition_function(self, name_or_tag_or_species, partition: str = "refined") -> PartitionFunction:
        """Q(T) of a species. ``partition="catalogue"``: the catalogue's table, interpolated
        log-log (CASSIS's convention); ``"refined"``: the table refined with the catalogue's
        levels at build time (table ``partition_refined``, :mod:`cassis_lite.linedb.qrefine`),
        with its uncertainty per range (``pf.accuracy``). Where the database has no refined Q
        for the species (older files, CASSIS imports, level sums from LAMDA files) the
        catalogue's table stands in for it and ``pf.basis`` says so."""
        if partition not in PARTITION_KINDS:
            raise QueryError(f"partition must be one of {', '.join(PARTITION_KINDS)}, got {partition!r}")
        sp = self.find_species(name_or_tag_or_species)
        if partition == "refined" and self._has_refined():
            rows = self._con.execute("SELECT temperature_k, log10_q FROM partition_refined WHERE species_id = ? "
                                     "ORDER BY temperature_k", (sp.id,)).fetchall()
            if rows:
                acc = tuple(tuple(r) for r in self._con.execute(
                    "SELECT tmin_k, tmax_k, rel_error, basis FROM partition_accuracy WHERE species_id = ? "
                    "ORDER BY tmin_k", (sp.id,)))
                spans = [f"{a:g}-{b:g} K {w}" for a, b, _, w in acc]
                basis = ("refined: " + "; ".join(spans) + " (levels: the sum over the catalogue's "
                         "levels x a spline of its ratio to the table; table: cubic spline of the table)")
                return PartitionFunction(sp.name, np.array([r[0] for r in rows], dtype=float),
                                         np.array([r[1] for r in rows], dtype=float), sp.q_method, sp.q_source,
                                         sp.q_truncation_k, interpolation="cubic", accuracy=acc, kind="refined",
                                         basis=basis)
        rows = self._con.execute(
            "SELECT temperature_k, log10_q FROM partition_function WHERE species_id = ? "
            "ORDER BY temperature_k", (sp.id,)).fetchall()
        t = np.array([r[0] for r in rows], dtype=float)
        q = np.array([r[1] for r in rows], dtype=float)
        basis = "the catalogue's table, log-log interpolation (CASSIS's convention)"
        if partition == "refined":
            basis = ("no refined Q for this species in this database: " + basis)
        return PartitionFunction(sp.name, t, q, sp.q_method, sp.q_source, sp.q_truncation_k, kind=partition,
                                 basis=basis)

    def _has_refined(self) -> bool:
        if getattr(self, "_refined_tables", None) is None:
            self._refined_tables = self._con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                "('partition_refined', 'partition_accuracy')").fetchone()[0] == 2
        return self._refined_tables

    # ------------------------------------------------------------------ absorption lines
    def absorption_lines(self, name_or_tag, wmin_a: float | None = None, wmax_a: float | None = None) -> dict:
        """Resonance absorption lines of an atom or ion (Morton 2003 today), by vacuum wavelength:
        arrays ``wave_vac_a`` (A), ``f_osc``, ``gamma_s`` (s^-1; NaN where the source gives none),
        ``gl``, ``gu``, ``elow_cm``, ``aij`` (s^-1), and ``source``."""
        sp = self.find_species(name_or_tag)
        tables = {r[0] for r in self._con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "absorption_lines" not in tables:
            raise DatabaseError(f"{self.path} has no absorption-line data (oscillator strengths): "
                                "rebuild it with `make db`")
        sql = ("SELECT wave_vac_a, f_osc, gamma_s, gl, gu, elow_cm, aij, source_id FROM absorption_lines "
               "WHERE species_id = ?")
        args: list = [sp.id]
        if wmin_a is not None:
            sql += " AND wave_vac_a >= ?"
            args.append(float(wmin_a))
        if wmax_a is not None:
            sql += " AND wave_vac_a <= ?"
            args.append(float(wmax_a))
        rows = self._con.execute(sql + " ORDER BY wave_vac_a", args).fetchall()
        cols = list(zip(*rows)) if rows else [[]] * 8
        out = {k: np.array(v, dtype=float) for k, v in zip(
            ("wave_vac_a", "f_osc", "gamma_s", "gl", "gu", "elow_cm", "aij"), cols[:7])}
        out["source"] = [self._sources.get(i, "?") for i in cols[7]]
        out["species"] = sp.name
        return out

    # ---------------------------------------------------------------------- collision data
    def _has_collisions(self) -> bool:
        """Whether non-LTE data can be queried: in this file (an imported database), or in the file
        beside it (``schema.collisions_path``), attached read-only the first time."""
        if self._con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='collision_species'"
                             ).fetchone():
            return True
        if self._con.execute("SELECT 1 FROM pragma_database_list WHERE name = 'nonlte'").fetchone():
            return True
        from cassis_lite.linedb.schema import collisions_path

        extra = collisions_path(self.path)
        if not extra.is_file():
            return False
        uri = "file:" + urllib.parse.quote(extra.as_posix()) + "?mode=ro"
        try:
            self._con.execute("ATTACH DATABASE ? AS nonlte", (uri,))
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read the non-LTE data {extra}: {exc}") from None
        return True

    def collision_species(self) -> list[dict]:
        """The species with collision rates (non-LTE data): ``name``, ``species`` (the line-database
        species it describes, None for collision-only species), ``file``, ``n_levels``,
        ``n_lines`` and ``partners``, sorted by name."""
        if not self._has_collisions():
            return []
        rows = self._con.execute(
            "SELECT c.id, c.name, c.species_id, c.file, c.n_levels, c.n_lines, GROUP_CONCAT(p.name, ',') "
            "FROM collision_species c LEFT JOIN collision_partners p ON p.collision_id = c.id "
            "GROUP BY c.id ORDER BY c.name COLLATE NOCASE, c.name").fetchall()
        return [{"name": r[1], "species": self._by_id[r[2]].name if r[2] in self._by_id else None, "file": r[3],
                 "n_levels": r[4], "n_lines": r[5], "partners": (r[6] or "").split(",")} for r in rows]

    def _collision_id(self, name_or_tag) -> tuple[int, str]:
        """(collision_species id, name) from a collision-species name or a line-database species."""
        if not self._has_collisions():
            raise DatabaseError(f"{self.path} has no collision data (non-LTE): rebuild it with `make db`")
        q = name_or_tag.name if isinstance(name_or_tag, Species) else name_or_tag
        for pred in ("name = ?", "name = ? COLLATE NOCASE"):
            hits = self._con.execute(f"SELECT id, name FROM collision_species WHERE {pred}",
                                     (str(q).strip(),)).fetchall()
            if len(hits) == 1:
                return hits[0]
        try:
            sp = self.find_species(name_or_tag)
        except UnknownSpeciesError:
            raise RadexError(f"no collision data for {q!r}; species with collision rates: "
                             f"{'; '.join(c['name'] for c in self.collision_species())}") from None
        hits = self._con.execute("SELECT id, name FROM collision_species WHERE species_id = ? ORDER BY name",
                                 (sp.id,)).fetchall()
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise AmbiguousSpeciesError(f"{sp.name} has several collision data sets: "
                                        f"{', '.join(repr(h[1]) for h in hits)}")
        raise RadexError(f"{sp.name} has no collision rates in the line database (no non-LTE model): species "
                         f"with collision rates: {'; '.join(c['name'] for c in self.collision_species())}")

    def collision_data(self, name_or_tag):
        """Levels, radiative lines and collision rates of a species, for non-LTE models
        (:class:`cassis_lite.radex.CollisionData`).

        ``name_or_tag``: a collision-species name (``"CO"``, ``"o-NH3"``, ``"HCN, hfs"``, see
        :meth:`collision_species`) or a line-database species that has exactly one. Raises
        :class:`RadexError` when the species has no collision rates.
        """
        from cassis_lite.radex.data import CollisionData, CollisionPartner

        cid, name = self._collision_id(name_or_tag)
        row = self._con.execute("SELECT file, molecular_weight, notes FROM collision_species WHERE id = ?",
                                (cid,)).fetchone()
        lev = self._con.execute("SELECT energy_cm, weight, label FROM collision_levels WHERE collision_id = ? "
                                "ORDER BY level", (cid,)).fetchall()
        lin = self._con.execute("SELECT up, low, aij, freq_mhz FROM collision_lines WHERE collision_id = ? "
                                "ORDER BY line", (cid,)).fetchall()
        partners = []
        for r in self._con.execute(
                "SELECT name, reference, temperatures_k, up, low, rate_mantissa, rate_digits, rate_exponent "
                "FROM collision_partners WHERE collision_id = ? ORDER BY partner", (cid,)):
            temps = np.frombuffer(r[2], dtype="<f8").astype(float)
            up = np.frombuffer(r[3], dtype="<u2").astype(np.intp) - 1
            rates = unpack_rates(r[5], r[6], r[7]).reshape(up.size, temps.size)
            partners.append(CollisionPartner(r[0], temps, up, np.frombuffer(r[4], dtype="<u2").astype(np.intp) - 1,
                                             rates, r[1] or ""))
        cols = list(zip(*lin))
        return CollisionData(
            species=name, source_file=row[0], molecular_weight=float(row[1]),
            level_energy_cm=np.array([x[0] for x in lev], dtype=float),
            level_weight=np.array([x[1] for x in lev], dtype=float), level_label=tuple(x[2] or "" for x in lev),
            line_up=np.array(cols[0], dtype=np.intp) - 1, line_low=np.array(cols[1], dtype=np.intp) - 1,
            aij=np.array(cols[2], dtype=float), freq_mhz=np.array(cols[3], dtype=float), partners=tuple(partners),
            notes=row[2] or "")

    def collision_provenance(self, name_or_tag) -> list[dict]:
        """Every file that holds the collision rates of a species: ``role`` primary (stored),
        duplicate (same data) or superseded (``note`` says why), with ``source`` and ``file``."""
        cid, _ = self._collision_id(name_or_tag)
        rows = self._con.execute(
            "SELECT s.name, s.package, p.file, p.role, p.note FROM collision_sources p JOIN sources s "
            "ON s.id = p.source_id WHERE p.collision_id = ? ORDER BY p.rowid", (cid,))
        return [dict(zip(("source", "package", "file", "role", "note"), r)) for r in rows]

    # ------------------------------------------------------------------------------ info
    def info(self) -> dict:
        n_species = self._con.execute("SELECT COUNT(*) FROM species").fetchone()[0]
        n_lines = self._con.execute("SELECT COUNT(*) FROM transitions").fetchone()[0]
        srcs = []
        for r in self._con.execute(
                "SELECT s.name, s.package, s.version, COUNT(t.id) FROM sources s "
                "LEFT JOIN transitions t ON t.source_id = s.id GROUP BY s.id ORDER BY s.name, s.id"):
            srcs.append({"name": r[0], "package": r[1], "version": r[2], "transitions": r[3]})
        fr = self._con.execute("SELECT MIN(freq_mhz), MAX(freq_mhz) FROM transitions").fetchone()
        return {"path": str(self.path), "size_bytes": self.path.stat().st_size, "species": n_species,
                "transitions": n_lines, "freq_range_mhz": list(fr), "sources": srcs, "meta": self.meta}

    def citations(self, sources=None) -> list[dict]:
        """How to cite the source databases (all, or those named in ``sources``, e.g. the
        ``sources`` of a :class:`Transitions`): ``database``, ``citation``, ``url``, ``licence``,
        one entry per database name, in the order asked (else by name). From the ``citations``
        table of the full catalogue, else from ``sources``."""
        table = "citations" if self._has_citations else "sources"
        name = "database" if self._has_citations else "name"
        out: dict = {}
        for r in self._con.execute(f"SELECT {name}, citation, url, licence FROM {table} ORDER BY {name}, rowid"):
            out.setdefault(r[0], {"database": r[0], "citation": r[1] or "", "url": r[2], "licence": r[3]})
        if sources is None:
            return list(out.values())
        order = list(dict.fromkeys(str(x) for x in np.atleast_1d(sources)))
        return [out[n] for n in order if n in out]

    def provenance(self, name_or_tag) -> list[dict]:
        """Every file that holds the species and its role (primary, merged, superseded...)."""
        sp = self.find_species(name_or_tag)
        rows = self._con.execute(
            "SELECT s.name, p.file, p.role, p.n_lines, p.note FROM species_sources p "
            "JOIN sources s ON s.id = p.source_id WHERE p.species_id = ? ORDER BY p.rowid", (sp.id,))
        return [dict(zip(("source", "file", "role", "n_lines", "note"), r)) for r in rows]


def _frequency_range(fmin_mhz, fmax_mhz) -> tuple[float, float]:
    """(fmin, fmax) as floats, or a QueryError saying what is wrong with them."""
    try:
        fmin, fmax = float(fmin_mhz), float(fmax_mhz)
    except (TypeError, ValueError):
        raise QueryError(f"frequency range must be numbers, got {fmin_mhz!r}..{fmax_mhz!r}") from None
    if not (np.isfinite(fmin) and np.isfinite(fmax)):
        raise QueryError(f"frequency range must be finite, got {fmin}..{fmax} MHz")
    if fmin > fmax:
        raise QueryError(f"inverted frequency range: fmin {fmin:g} MHz > fmax {fmax:g} MHz")
    return fmin, fmax


#: the order in which sources win a tie (data/README.md, "How the sources are combined" and the
#: full catalogue's rules): the bundled catalogues, then the lists of the Splatalogue dump
SOURCE_PRIORITY = ("CDMS", "JPL", "LAMDA", "NH3 hfs", "SLAIM", "Lovas/NIST", "Recombination", "Morton2003",
                   "van Hoof")


def source_rank(source: str) -> tuple[int, int]:
    """Where a source stands in :data:`SOURCE_PRIORITY` (unknown ones last); a bundled
    catalogue before the same catalogue as compiled in Splatalogue (``CDMS (Splatalogue)``)."""
    base = source.removesuffix(" (Splatalogue)")
    rank = SOURCE_PRIORITY.index(base) if base in SOURCE_PRIORITY else len(SOURCE_PRIORITY)
    return rank, int(base != source)


def tie_break(candidates: list[Species]) -> list[Species]:
    """The species of ``candidates`` that a plain name means: ground states
    (:func:`cassis_lite.linedb.names.is_ground_state`) if there are any, then those of the
    best-ranked source (:func:`source_rank`). One species, or the tie left."""
    from cassis_lite.linedb.names import is_ground_state

    ground = [s for s in candidates if is_ground_state(s.name)] or list(candidates)
    best = min(source_rank(s.source) for s in ground)
    return [s for s in ground if source_rank(s.source) == best]


def _as_tag(x) -> int | None:
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (int, np.integer)):
        return abs(int(x))
    s = str(x).strip()
    if s.lstrip("-").isdigit():
        return abs(int(s))
    return None


def _names(species) -> str:
    return ", ".join(repr(s.name) + (f" (tag {s.tag})" if s.tag else "") for s in species)
