"""``cassis-lite db info``, ``cassis-lite db import-cassis`` and ``cassis-lite db build-full``."""

from __future__ import annotations

import sys

from cassis_lite.linedb import LineDatabase, import_cassis


def register(subparsers) -> None:
    p = subparsers.add_parser("db", help="line database: information, import of a CASSIS database",
                              description="Line database commands.")
    sub = p.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)

    info = sub.add_parser("info", help="path, size, species and transition counts, sources and versions")
    info.add_argument("--db", metavar="PATH", default=None,
                      help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    info.set_defaults(func=run_info)

    imp = sub.add_parser("import-cassis", help="convert a database of CASSIS's SQLite schema",
                         description="Convert a CASSIS SQLite database (tables catdir, transitions, "
                                     "cassis_parti_funct) into a CASSIS lite database usable with --db.")
    imp.add_argument("source", metavar="SRC", help="CASSIS database file")
    imp.add_argument("--out", required=True, metavar="DST", help="CASSIS lite database to write")
    imp.set_defaults(func=run_import)

    full = sub.add_parser("build-full", help="build the full line catalogue (Splatalogue dump, van Hoof; docs/fulldb.md)",
                          description="Build the full line catalogue (build_scripts/build_fulldb.py; a source "
                                      "checkout is needed: the pinned sources are downloaded, ~440 MB, and cached).")
    full.add_argument("--out", required=True, metavar="DST", help="SQLite file to write")
    full.add_argument("--bundled", metavar="PATH", default=None,
                      help="the bundled database it starts from (default: cassis_lite/data/cassis_lite.db)")
    full.add_argument("--page-size", type=int, default=None, help="SQLite page size (default 4096)")
    full.set_defaults(func=run_build_full)


def run_info(args) -> int:
    db = LineDatabase(args.db)
    info = db.info()
    meta = info["meta"]
    size = info["size_bytes"]
    fmin, fmax = info["freq_range_mhz"]
    out = [
        f"path:          {info['path']}",
        f"size:          {size} bytes ({size / 1e6:.2f} MB)",
        f"species:       {info['species']}",
        f"transitions:   {info['transitions']}",
    ]
    if fmin is not None:
        out.append(f"frequencies:   {fmin:.4f} - {fmax:.4f} MHz")
    out.append(f"built:         {meta.get('build_date', '?')} by {meta.get('builder', '?')} "
               f"(schema {meta.get('schema_version', '?')})")
    if "content_sha256" in meta:
        out.append(f"content hash:  {meta['content_sha256']}")
    out.append("sources:")
    for s in info["sources"]:
        pkg = f"{s['package']}=={s['version']}" if s["package"] else "-"
        out.append(f"  {s['name']:<15} {pkg:<22} {s['transitions']:>8} transitions")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def run_import(args) -> int:
    res = import_cassis(args.source, args.out)
    print(f"{args.out}: {res['species']} species, {res['transitions']} transitions "
          f"imported from {args.source}" + (f" ({res['skipped']} incomplete rows skipped)" if res["skipped"] else ""))
    return 0


def run_build_full(args) -> int:
    import importlib.util
    from pathlib import Path

    from cassis_lite.errors import ConfigError

    script = Path(__file__).resolve().parents[2] / "build_scripts" / "build_fulldb.py"
    if not script.is_file():
        raise ConfigError(f"db build-full needs a source checkout of CASSIS lite ({script} not found)")
    spec = importlib.util.spec_from_file_location("build_fulldb", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    argv = ["--out", args.out]
    if args.bundled:
        argv += ["--bundled", args.bundled]
    if args.page_size:
        argv += ["--page-size", str(args.page_size)]
    return mod.main(argv)
