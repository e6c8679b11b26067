"""``cassis-lite cube info|moments|fit CUBE ...``: spectral cubes of any size (memory-mapped).

- ``info``: shape, spectral axis, sky frame and projection.
- ``moments [--vmin --vmax] [--line FREQ_MHZ | --species NAME] --out moments.fits``: HDUs MOM0
  (cube unit x km/s), MOM1, MOM2 (km/s), PEAK (cube unit) with the cube's celestial WCS.
- ``fit --config fit.json --out maps.fits [--snr 5] [--workers N | --scheduler ADDRESS]``: the
  LTE fit of ``cassis-lite fit`` at every pixel above the S/N cut: HDUs of every free parameter
  (TEX, VLSR, FWHM, NTOT_<species>...) and its _ERR, and REDCHI2.

With ``--workers N`` the blocks of the sky plane are tasks of a local ``dask.distributed``
cluster (N processes of one thread); ``--scheduler ADDRESS`` uses a running one (its workers must
see the cube and the database at the same paths). Dask is imported only here: the core and the
browser never need it. The maps are the same as the serial run's, bit for bit.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cassis_lite.commands import warn
from cassis_lite.errors import CassisError, ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("cube", help="spectral cubes: info, moment maps, LTE fit maps",
                              description="Spectral cubes (FITS, any size: read memory-mapped, in blocks "
                                          "of the sky plane).")
    sub = p.add_subparsers(dest="cube_command", metavar="ACTION", required=True)

    pi = sub.add_parser("info", help="describe a cube (shape, spectral axis, sky frame)")
    pi.add_argument("cube", help="FITS cube")
    pi.add_argument("--hdu", default=None, help="HDU (index or EXTNAME)")
    pi.add_argument("--format", choices=("text", "json"), default="text")
    pi.set_defaults(func=run_info)

    pm = sub.add_parser("moments", help="moment maps MOM0, MOM1, MOM2, PEAK over a velocity range",
                        description="Moment maps over vmin..vmax km/s (radio convention about the cube's rest "
                                    "frequency, or --line / --species); NaN channels are left out. All channels "
                                    "when no range is given.")
    pm.add_argument("cube", help="FITS cube")
    pm.add_argument("--vmin", type=float, default=None, metavar="KMS")
    pm.add_argument("--vmax", type=float, default=None, metavar="KMS")
    g = pm.add_mutually_exclusive_group()
    g.add_argument("--line", type=float, default=None, metavar="FREQ_MHZ", help="rest frequency of the velocities")
    g.add_argument("--species", default=None, metavar="NAME",
                   help="rest frequency from the line database: the species' transition in the cube's band")
    pm.add_argument("--out", required=True, metavar="MOMENTS.fits")
    pm.add_argument("--hdu", default=None, help="HDU (index or EXTNAME)")
    pm.add_argument("--db", metavar="PATH", default=None, help="line database (with --species)")
    pm.set_defaults(func=run_moments)

    pf = sub.add_parser("fit", help="LTE fit maps (every free parameter, its error, chi2_red)",
                        description="Fit the `cassis-lite fit` configuration at every pixel whose S/N "
                                    "(max |I - continuum| over the fit channels / rms) reaches --snr.")
    pf.add_argument("cube", help="FITS cube")
    pf.add_argument("--config", required=True, metavar="FIT.json", help="the `cassis-lite fit` JSON")
    pf.add_argument("--out", required=True, metavar="MAPS.fits")
    pf.add_argument("--snr", type=float, default=5.0, help="signal-to-noise cut (default 5)")
    pf.add_argument("--block", type=int, default=None, metavar="PIXELS", help="block side (default 32)")
    par = pf.add_mutually_exclusive_group()
    par.add_argument("--workers", type=int, default=None, metavar="N",
                     help="run the blocks on a local Dask cluster of N processes")
    par.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run on an existing Dask scheduler")
    pf.add_argument("--hdu", default=None, help="HDU (index or EXTNAME)")
    pf.add_argument("--db", metavar="PATH", default=None,
                    help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    pf.add_argument("--quiet", action="store_true", help="no progress notes")
    pf.set_defaults(func=run_fit)


def _open(args):
    from cassis_lite.cube import Cube

    return Cube.open(args.cube, hdu=args.hdu)


def run_info(args) -> int:
    info = _open(args).info()
    if args.format == "json":
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {'-' if value is None else value}")
    return 0


def species_rest_frequency(cube, db, species) -> float:
    """The rest frequency (MHz) of ``species``' transition in the cube's band: the only one, or
    the one within 1 MHz of the cube's RESTFRQ; otherwise an error listing them."""
    f = cube.freq_mhz
    margin = 300.0 / 299792.458  # lines shifted by up to 300 km/s
    t = db.transitions(f.min() * (1 - margin), f.max() * (1 + margin), species=[species])
    freqs = [float(x) for x in t.freq_mhz]
    if not freqs:
        raise ConfigError(f"{species} has no transition in the cube's band "
                          f"({f.min():.3f}-{f.max():.3f} MHz): give --line FREQ_MHZ")
    if len(freqs) == 1:
        return freqs[0]
    if cube.rest_freq_mhz:
        near = [x for x in freqs if abs(x - cube.rest_freq_mhz) <= 1.0]
        if len(near) == 1:
            return near[0]
    shown = ", ".join(f"{x:.4f}" for x in freqs[:6])
    raise ConfigError(f"{species} has {len(freqs)} transitions in the cube's band ({shown}"
                      f"{', ...' if len(freqs) > 6 else ''} MHz): choose one with --line FREQ_MHZ")


def run_moments(args) -> int:
    from cassis_lite.cube import write_maps_fits

    cube = _open(args)
    rest = args.line
    if args.species is not None:
        from cassis_lite.linedb import LineDatabase

        rest = species_rest_frequency(cube, LineDatabase(args.db), args.species)
    m = cube.moments(args.vmin, args.vmax, rest)
    write_maps_fits(m, cube.wcs, args.out)
    print(f"{args.out}: MOM0 [{m.maps()['MOM0'][1]}], MOM1, MOM2 [km/s], PEAK [{m.unit}] over "
          f"{m.vmin_kms:.3f}..{m.vmax_kms:.3f} km/s (channels {m.channels[0]}..{m.channels[1] - 1}, "
          f"rest frequency {m.rest_freq_mhz:.4f} MHz)")
    return 0


# --- fit ----------------------------------------------------------------------------------------

_FITTERS: dict = {}
#: seconds to wait for a --scheduler
SCHEDULER_TIMEOUT_S = 10


def fit_block_task(path: str, hdu, config_text: str, db_path, snr: float, block, box):
    """One block on a Dask worker: the fitter of (cube, configuration) is built once per worker
    process and kept (the cube memory-mapped, the transitions selected once)."""
    key = (path, hdu, config_text, db_path, snr, tuple(block))
    fitter = _FITTERS.get(key)
    if fitter is None:
        from cassis_lite.cube import Cube, CubeFitter
        from cassis_lite.linedb import LineDatabase

        fitter = CubeFitter(Cube.open(path, hdu=hdu), json.loads(config_text), LineDatabase(db_path), snr=snr,
                            block=block)
        _FITTERS.clear()
        _FITTERS[key] = fitter
    return fitter.fit_block(box)


def local_cluster(workers: int):
    """A ``LocalCluster`` of ``workers`` processes with 1 thread each, without Dask's default
    MALLOC_TRIM_THRESHOLD_ for its workers: with it glibc maps and unmaps every array of more
    than 64 KiB, and the fit's many block-sized temporaries then cost 40 % more CPU."""
    import dask
    from dask.distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def run_dask(fitter, path, hdu, config_text, db_path, workers=None, scheduler=None, progress=None):
    """Fill ``fitter.empty_maps()`` from blocks run as Dask tasks (local cluster or ``scheduler``)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise CassisError("--workers / --scheduler need dask.distributed (pip install 'dask[distributed]')") from None
    cluster = None
    if scheduler is None:
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        cluster = local_cluster(workers)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except OSError as exc:
            raise CassisError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        maps = fitter.empty_maps()
        futures = [client.submit(fit_block_task, path, hdu, config_text, db_path, fitter.snr, fitter.block_shape, box,
                                 pure=False) for box in fitter.blocks]
        for i, fut in enumerate(as_completed(futures), 1):
            res = fut.result()
            maps.insert(res)
            if progress is not None:
                progress(i, len(futures), res)
        return maps
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _peak_rss_mib() -> float | None:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except (ImportError, AttributeError):
        return None


def run_fit(args) -> int:
    from cassis_lite.commands.fit import load_config
    from cassis_lite.cube import CubeFitter, write_maps_fits
    from cassis_lite.linedb import LineDatabase

    config = load_config(args.config)
    cube = _open(args)
    db = LineDatabase(args.db)
    fitter = CubeFitter(cube, config, db, snr=args.snr, block=args.block)
    t0 = time.perf_counter()
    fitted = [0]

    def progress(done, total, res):
        fitted[0] += res.n_fitted
        if not args.quiet and (done == total or done % max(1, total // 10) == 0):
            sys.stderr.write(f"cassis-lite: note: block {done}/{total}, {fitted[0]} pixels fitted\n")

    if args.workers is not None or args.scheduler is not None:
        # absolute paths: the workers (other processes, maybe other machines) open the files themselves
        maps = run_dask(fitter, os.path.abspath(args.cube), args.hdu, json.dumps(config), os.path.abspath(db.path),
                        args.workers, args.scheduler, progress)
    else:
        maps = fitter.run(progress)
    dt = time.perf_counter() - t0
    write_maps_fits(maps, cube.wcs, args.out)
    rss = _peak_rss_mib()
    names = ", ".join(maps.arrays)
    print(f"{args.out}: {names}; {maps.n_fitted} of {cube.nx * cube.ny} pixels fitted (S/N >= {args.snr:g}) "
          f"in {dt:.1f} s")
    if rss is not None and not args.quiet:
        warn(f"peak memory of this process {rss:.0f} MiB (cube {cube.data_bytes / 2**20:.0f} MiB, read in "
             f"{fitter.block_shape[0]} x {fitter.block_shape[1]} pixel blocks)")
    return 0
