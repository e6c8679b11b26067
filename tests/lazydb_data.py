"""A large line database for the lazy-read tests and benchmarks, made from the bundled one.

The bundled file has 48,771 transitions (5 MB); the full catalogue about 1 M (docs/fulldb.md).
:func:`build_large_db` writes a file of the same schema and layout as the full catalogue: every
transition of the bundled file ``copies`` times, copy k shifted by k x ``step_mhz`` (so a window
holds ``copies`` times the lines, at distinct frequencies), rows stored in frequency order (the
rowid ascends with freq_mhz: a window is a contiguous run of table pages), indexes on frequency
and (species, frequency), ``ANALYZE``d and ``VACUUM``ed. The species, partition functions and
sources are the bundled file's, so a query on it has an independent answer: the bundled query
with the shifts applied (:func:`expected_freqs`).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np

COPIES = 32
STEP_MHZ = 0.0173


def build_large_db(src: Path, dst: Path, copies: int = COPIES, step_mhz: float = STEP_MHZ,
                   page_size: int = 4096) -> Path:
    """``dst``: the transitions of ``src`` x ``copies``, clustered by frequency. Returns ``dst``."""
    dst = Path(dst)
    if dst.exists():
        dst.unlink()
    shutil.copyfile(src, dst)
    con = sqlite3.connect(dst)
    try:
        con.execute(f"PRAGMA page_size = {int(page_size)}")
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("CREATE TEMP TABLE original AS SELECT species_id, source_id, freq_mhz, err_mhz, aij, elow_cm, "
                    "eup_k, gup, qn FROM transitions")
        con.execute("DROP INDEX IF EXISTS transitions_freq")
        con.execute("DELETE FROM transitions")
        con.execute(
            "WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < ?) "
            "INSERT INTO transitions (species_id, source_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn) "
            "SELECT species_id, source_id, freq_mhz + n * ?, err_mhz, aij, elow_cm, eup_k, gup, qn "
            "FROM original, k ORDER BY freq_mhz + n * ?, species_id", (int(copies), step_mhz, step_mhz))
        con.execute("UPDATE species SET n_lines = n_lines * ?", (int(copies),))
        con.execute("CREATE INDEX transitions_freq ON transitions (freq_mhz)")
        con.execute("CREATE INDEX transitions_species_freq ON transitions (species_id, freq_mhz)")
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('transitions_order', 'freq_mhz')")
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('content_sha256', ?)",
                    (f"test-large-{copies}x",))
        con.commit()
        con.execute("ANALYZE")
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return dst


def expected_freqs(bundled_freqs: np.ndarray, copies: int = COPIES, step_mhz: float = STEP_MHZ,
                   fmin_mhz: float = -np.inf, fmax_mhz: float = np.inf) -> np.ndarray:
    """The sorted frequencies the large file holds in [fmin, fmax], from the bundled file's."""
    f = (np.asarray(bundled_freqs, dtype=float)[:, None] + np.arange(copies)[None, :] * step_mhz).ravel()
    return np.sort(f[(f >= fmin_mhz) & (f <= fmax_mhz)])
