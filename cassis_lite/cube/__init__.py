"""Spectral cubes: reading, sky coordinates, moment maps and LTE fit maps (pure NumPy).

    from cassis_lite.cube import Cube, fit_cube, write_maps_fits
    cube = Cube.open("cube.fits")                  # path (memory-mapped) or bytes
    sp = cube.spectrum_at(10, 12)                  # a Spectrum (0-based pixel)
    x, y = cube.world_to_pixel(83.82, -5.39, frame="icrs")
    m = cube.moments(-5.0, 15.0)                   # MOM0, MOM1, MOM2, PEAK
    write_maps_fits(m, cube.wcs, "moments.fits")
    maps = fit_cube(cube, fit_config, db, snr=5)   # TEX, VLSR, FWHM, NTOT_<species> + _ERR, REDCHI2

The browser fills maps block by block: ``fitter = CubeFitter(cube, config, db)``, then
``fitter.fit_block(box)`` for each ``box`` of ``fitter.blocks`` into ``fitter.empty_maps()``.
See docs/cubes.md.
"""

from cassis_lite.cube.cube import CLI_HINT, Cube, CubeError
from cassis_lite.cube.fit import BlockResult, CubeFitter, FitMaps, fit_cube
from cassis_lite.cube.fits_out import write_maps_fits
from cassis_lite.cube.moments import MomentMaps, moment_maps
from cassis_lite.cube.wcs import CelestialWcs, WcsError, convert_frame

__all__ = ["BlockResult", "CLI_HINT", "CelestialWcs", "Cube", "CubeError", "CubeFitter", "FitMaps", "MomentMaps",
           "WcsError", "convert_frame", "fit_cube", "moment_maps", "write_maps_fits"]
