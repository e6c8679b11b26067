"""The cube fit on Dask: a real LocalCluster of 2 worker processes (1 thread each) on localhost
gives the serial maps bit for bit, through the command line (--workers, --scheduler)."""

import json

import numpy as np
import pytest

from cassis_lite.cli import main
from cube_data import CH3CN_FIT, synthetic_ch3cn_cube

distributed = pytest.importorskip("dask.distributed")
fits = pytest.importorskip("astropy.io.fits")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def dask_scratch_in_tmp_path(tmp_path):
    """Dask's scratch space (its default: the system's temporary folder, which may be the
    checkout's parent, where the tests must not read) in the test's own folder."""
    import dask

    with dask.config.set({"temporary-directory": str(tmp_path / "dask-scratch")}):
        yield


def _maps(path):
    with fits.open(path) as hdul:
        return {h.name: h.data.copy() for h in hdul[1:]}


def test_local_cluster_and_scheduler_equal_the_serial_run(tmp_path, line_db, capsys):
    cube = tmp_path / "ch3cn.fits"
    synthetic_ch3cn_cube(cube, line_db, ny=9, nx=10)
    config = tmp_path / "fit.json"
    config.write_text(json.dumps(CH3CN_FIT))
    common = ["cube", "fit", str(cube), "--config", str(config), "--snr", "5", "--block", "4", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "serial.fits")]) == 0
    assert main(common + ["--out", str(tmp_path / "workers.fits"), "--workers", "2"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert main(common + ["--out", str(tmp_path / "scheduler.fits"), "--scheduler", cluster.scheduler_address]) == 0
        with distributed.Client(cluster) as client:
            # the blocks really ran on the two worker processes
            pids = client.run(lambda: __import__("os").getpid())
            assert len(set(pids.values())) == 2
    serial = _maps(tmp_path / "serial.fits")
    assert np.isfinite(serial["TEX"]).sum() == 9 * 10 - 4
    for other in ("workers.fits", "scheduler.fits"):
        maps = _maps(tmp_path / other)
        assert list(maps) == list(serial)
        for name in serial:
            assert np.array_equal(maps[name], serial[name], equal_nan=True), (other, name)


def test_unreachable_scheduler_is_a_one_line_error(tmp_path, line_db, capsys, monkeypatch):
    import cassis_lite.commands.cube as command

    monkeypatch.setattr(command, "SCHEDULER_TIMEOUT_S", 2)
    cube = tmp_path / "c.fits"
    synthetic_ch3cn_cube(cube, line_db, ny=3, nx=3, faint_corner=False, nan_channels=False)
    config = tmp_path / "fit.json"
    config.write_text(json.dumps(CH3CN_FIT))
    status = main(["cube", "fit", str(cube), "--config", str(config), "--out", str(tmp_path / "m.fits"),
                   "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    assert status == 2
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:9" in capsys.readouterr().err
