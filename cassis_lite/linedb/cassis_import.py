"""Import a database of CASSIS's own SQLite schema into a CASSIS lite database.

CASSIS (and IRAP's ``cassis-lte-python``) use the tables

* ``catdir``: one row per species (``id``, ``speciesid`` = CDMS/JPL tag, ``name``, ``id_database``),
* ``transitions``: ``fMHz`` (MHz), ``err`` (MHz), ``aint`` (A_ij, s^-1), ``elow`` (cm^-1),
  ``eup`` (K), ``igu`` (g_up), ``qn`` (text), ``catdir_id``,
* ``cassis_parti_funct``: ``catdir_id``, ``temp`` (K), ``qlog`` (log10 Q),
* ``cassis_databases`` (optional): ``id``, ``name`` (CDMS, JPL, NIST...).

Column names are matched case-insensitively. Each catdir entry becomes one species (CASSIS keeps
a molecule of two catalogues as two entries; a repeated name gets its database appended, e.g.
``CO (JPL)``). Transitions are copied in batches, so a full 9-million-line CASSIS database
converts in bounded memory.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import urllib.parse
from pathlib import Path

from cassis_lite.constants import CM1_TO_K, CM1_TO_MHZ
from cassis_lite.errors import DatabaseError
from cassis_lite.linedb import schema

BATCH = 100_000


def _columns(con, table) -> dict[str, str]:
    return {r[1].lower(): r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}


def _need(cols: dict, table: str, names, src) -> list[str]:
    missing = [n for n in names if n.lower() not in cols]
    if missing:
        raise DatabaseError(f"{src}: table {table} lacks column(s) {', '.join(missing)} of the CASSIS schema")
    return [cols[n.lower()] for n in names]


def import_cassis(src, dst) -> dict:
    """Convert the CASSIS-schema database ``src`` into a CASSIS lite database ``dst``.

    Returns {"species": n, "transitions": n}. Raises DatabaseError naming what is wrong.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise DatabaseError(f"CASSIS database not found: {src}")
    if src.resolve() == dst.resolve():
        raise DatabaseError("import-cassis: --out must differ from the source database")
    try:
        con_in = sqlite3.connect("file:" + urllib.parse.quote(src.as_posix()) + "?mode=ro", uri=True)
        tables = {r[0].lower(): r[0] for r in con_in.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read {src}: {exc}") from None
    for t in ("catdir", "transitions"):
        if t not in tables:
            raise DatabaseError(f"{src} is not a CASSIS database (no table {t})")
    try:
        return _convert(con_in, tables, src, dst)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot convert {src}: {exc}") from None
    finally:
        con_in.close()


def _convert(con_in, tables, src: Path, dst: Path) -> dict:
    cat_cols = _columns(con_in, tables["catdir"])
    id_col, name_col = _need(cat_cols, "catdir", ["id", "name"], src)
    tag_col = cat_cols.get("speciesid") or cat_cols.get("tag")
    dbid_col = cat_cols.get("id_database")
    tr_cols = _columns(con_in, tables["transitions"])
    t_names = _need(tr_cols, "transitions", ["catdir_id", "fMHz", "err", "aint", "elow", "eup", "igu", "qn"], src)
    t_dbid = tr_cols.get("id_database")

    databases = {}
    if "cassis_databases" in tables:
        dcols = _columns(con_in, tables["cassis_databases"])
        if "id" in dcols and "name" in dcols:
            databases = {r[0]: str(r[1]) for r in con_in.execute(
                f'SELECT "{dcols["id"]}", "{dcols["name"]}" FROM "{tables["cassis_databases"]}"')}

    tmp = dst.with_suffix(dst.suffix + ".tmp")
    con = schema.create(tmp)
    try:
        # sources: one per CASSIS database, plus "CASSIS" for rows without one
        src_ids = {None: 1}
        con.execute("INSERT INTO sources (id, name, citation, url) VALUES (1, 'CASSIS', ?, ?)",
                    (f"imported from {src.name}", "http://cassis.irap.omp.eu/"))
        for i, (dbid, dbname) in enumerate(sorted(databases.items(), key=lambda kv: str(kv[0])), start=2):
            src_ids[dbid] = i
            con.execute("INSERT INTO sources (id, name, citation) VALUES (?, ?, ?)",
                        (i, dbname, f"imported from {src.name} (CASSIS database {dbname})"))

        cat_sql = f'SELECT "{id_col}", "{name_col}"'
        cat_sql += f', "{tag_col}"' if tag_col else ", NULL"
        cat_sql += f', "{dbid_col}"' if dbid_col else ", NULL"
        entries = con_in.execute(cat_sql + f' FROM "{tables["catdir"]}" ORDER BY "{id_col}"').fetchall()
        counts: dict[str, int] = {}
        for e in entries:
            counts[str(e[1]).strip()] = counts.get(str(e[1]).strip(), 0) + 1
        used = set()
        new_id = {}
        species_src = {}
        for i, (cid, name, tag, dbid) in enumerate(entries, start=1):
            name = str(name).strip()
            sname = name
            if counts[name] > 1:
                sname = f"{name} ({databases.get(dbid, tag if tag is not None else cid)})"
            while sname in used:
                sname = f"{sname} #{cid}"
            used.add(sname)
            new_id[cid] = i
            sid = src_ids.get(dbid, 1)
            species_src[i] = sid
            tag_val = abs(int(tag)) if tag is not None and str(tag).lstrip("-").isdigit() else None
            con.execute("INSERT INTO species (id, tag, name, formula, source_id, source_file, n_lines, "
                        "q_method, q_source, note) VALUES (?,?,?,?,?,?,0,NULL,NULL,?)",
                        (i, tag_val, sname, name.split(",")[0].strip(), sid, src.name,
                         f"catdir id {cid}"))
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                        (i, sid, src.name, "primary", None, f"CASSIS catdir id {cid}"))

        sel = ", ".join(f'"{c}"' for c in t_names) + (f', "{t_dbid}"' if t_dbid else ", NULL")
        cur = con_in.execute(f'SELECT {sel} FROM "{tables["transitions"]}"')
        n_lines = 0
        cols = ", ".join(schema.TRANSITION_COLUMNS)
        insert = f"INSERT INTO transitions ({cols}) VALUES ({', '.join('?' * len(schema.TRANSITION_COLUMNS))})"
        per_species: dict[int, int] = {}
        skipped = 0
        while True:
            batch = cur.fetchmany(BATCH)
            if not batch:
                break
            rows = []
            for catdir_id, f, err, a, elow, eup, igu, qn, dbid in batch:
                sid = new_id.get(catdir_id)
                if sid is None or f is None or a is None or elow is None or igu is None:
                    skipped += 1
                    continue
                if eup is None:
                    eup = (float(elow) + float(f) / CM1_TO_MHZ) * CM1_TO_K
                source = src_ids.get(dbid) if dbid is not None else None
                if source is None:
                    source = species_src[sid]
                rows.append((sid, source, float(f), None if err is None else float(err), float(a),
                             float(elow), float(eup), int(igu), "" if qn is None else str(qn)))
                per_species[sid] = per_species.get(sid, 0) + 1
            con.executemany(insert, rows)
            n_lines += len(rows)
        for sid, n in per_species.items():
            con.execute("UPDATE species SET n_lines = ? WHERE id = ?", (n, sid))

        if "cassis_parti_funct" in tables:
            pcols = _columns(con_in, tables["cassis_parti_funct"])
            c_id = pcols.get("catdir_id")
            c_t = pcols.get("temp") or pcols.get("temperature")
            c_q = pcols.get("qlog") or pcols.get("log10_q")
            if not (c_id and c_t and c_q):
                names = list(pcols.values())
                if len(names) < 3:
                    raise DatabaseError(f"{src}: cassis_parti_funct needs catdir_id, temp, qlog")
                c_id, c_t, c_q = names[:3]
            pts = {}
            for cid, t, q in con_in.execute(f'SELECT "{c_id}", "{c_t}", "{c_q}" FROM "{tables["cassis_parti_funct"]}"'):
                sid = new_id.get(cid)
                if sid is None or t is None or q is None or float(t) <= 0:
                    continue
                pts[(sid, float(t))] = float(q)
            con.executemany("INSERT INTO partition_function VALUES (?,?,?)",
                            [(s, t, q) for (s, t), q in sorted(pts.items())])
            con.execute("UPDATE species SET q_method = 'table', q_source = 'CASSIS cassis_parti_funct' "
                        "WHERE id IN (SELECT DISTINCT species_id FROM partition_function)")
        schema.finish(con, {
            "build_date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
            "builder": "cassis-lite db import-cassis",
            "imported_from": str(src),
            "sources": "CASSIS database " + src.name,
            "skipped_transitions": skipped,
        })
    except BaseException:
        try:
            con.close()
        finally:
            if tmp.exists():
                tmp.unlink()
        raise
    tmp.replace(dst)
    return {"species": len(entries), "transitions": n_lines, "skipped": skipped}

