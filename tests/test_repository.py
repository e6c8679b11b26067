"""The repository stands on its own: a copy of it with nothing beside it builds the database and
the site, and nothing the build reads lies outside it.

The copy is what a commit would hold (tracked files and new, not ignored ones), unpacked in a
temporary folder. Decoys are put beside it where earlier versions looked (a ``shared`` folder beside the checkout): every
file the build processes open or list is recorded by an audit hook, and any in the copy's parent
folder outside the copy fails the test. Downloads come from the checkout's own cache (every file
in it is checked against its pinned hash), so no network is needed twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paths import ROOT

AUDITED_RUN = r"""
import os, runpy, sys
root, log, script = sys.argv[1], sys.argv[2], sys.argv[3]
parent = os.path.dirname(root)
seen = []

def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        p = os.path.normpath(os.path.abspath(os.fsdecode(args[0])))
        if p.startswith(parent + os.sep) and not (p == root or p.startswith(root + os.sep)):
            seen.append(event + " " + p)

sys.addaudithook(hook)
sys.argv = [script] + sys.argv[4:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    parent = "//"  # the log below is not the build's reading
    with open(log, "w") as fh:
        fh.write("\n".join(seen))
"""


def repository_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def test_no_file_points_outside_the_repository():
    bad = []
    for rel in repository_files():
        if rel.endswith((".png", ".fits", ".gz", ".lock")) or rel == "tests/test_repository.py":
            continue
        text = (ROOT / rel).read_text(errors="replace")
        for needle in ("../" + "shared", "shared" + "/samples", "DESIGN.md"):  # spelt apart: this file is no hit
            if needle in text:
                bad.append(f"{rel}: {needle}")
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.site
def test_a_copy_with_nothing_beside_it_builds_db_and_site(tmp_path):
    copy = tmp_path / "cassis-lite"
    for rel in repository_files():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, copy / rel)
    decoys = tmp_path / "shared" / "samples"
    decoys.mkdir(parents=True)
    (decoys / "decoy_spectrum.txt").write_text("100 1\n200 2\n300 3\n")
    (tmp_path / "shared" / "DESIGN.md").write_text("decoy")
    runner = tmp_path / "audited_run.py"
    runner.write_text(AUDITED_RUN)
    env = dict(os.environ, CASSIS_LITE_CACHE=str(ROOT / ".cache"), PYTHONDONTWRITEBYTECODE="1")
    for step, script, args in (
            ("db", "build_scripts/build_linedb.py", ["--out", "cassis_lite/data/cassis_lite.db"]),
            ("site", "build_scripts/build_site.py", ["--out", "site"])):
        log = tmp_path / f"{step}.log"
        proc = subprocess.run([sys.executable, str(runner), str(copy), str(log), script, *args], cwd=copy,
                              env=env, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outside = log.read_text().splitlines()
        assert not outside, f"{step} read outside the repository: {outside[:5]}"
    config = json.loads((copy / "site" / "config.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    assert config["samples"] == ["41505_28502_147_220GHz.txt", "I16293_Synthetic_CO.lis"]
    assert (copy / "site" / "samples" / "README.md").read_text().count("CeCILL-C") >= 1
    assert (copy / "site" / "index.html").is_file() and config["snapshot"] is not None


def test_the_outside_read_check_names_neighbours_not_temporary_files():
    import tempfile

    from conftest import outside_repository

    root = Path("/work/ci/main")
    assert outside_repository("/work/ci/shared/x.lis", root)
    assert not outside_repository("/work/ci/main/data/samples/x.lis", root)
    assert not outside_repository("/usr/lib/python3/os.py", root)
    tmp = Path(tempfile.gettempdir()).resolve()
    in_tmp = tmp / "fresh"  # a checkout in the temporary folder: its neighbours still count
    assert outside_repository(tmp / "shared" / "DESIGN.md", in_tmp)
    for artefact in ("pytest-of-root/pytest-1/x.fits", "tmpab12cd/run.mjs", "dask-scratch-space/global.lock"):
        assert not outside_repository(tmp / artefact, in_tmp)
