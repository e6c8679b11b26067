"""Write 2-D maps (moments, fitted parameters) as a FITS file with the cube's celestial WCS.

Layout: an empty primary HDU (or one of the maps, ``primary=NAME``, for viewers such as Aladin
Lite that show the primary image), then one IMAGE extension per map: EXTNAME the map's name,
BUNIT its unit, BITPIX -64 (NaN where there is no value), and the celestial WCS of the cube on
axes 1 and 2 (:meth:`CelestialWcs.header_cards`). Pure NumPy; the header cards are those of
:func:`cassis_lite.readers.write_fits`.
"""

from __future__ import annotations

import os

import numpy as np

from cassis_lite.cube.wcs import CelestialWcs
from cassis_lite.errors import CassisError
from cassis_lite.readers.fits_format import BLOCK
from cassis_lite.readers.writers import _card, _header


def _image_hdu(data: np.ndarray, first: bool, name: str, unit: str, wcs: CelestialWcs | None, cards) -> bytes:
    ny, nx = data.shape
    head = ([_card("SIMPLE", True, "conforms to FITS standard")] if first
            else [_card("XTENSION", "IMAGE", "image extension")])
    head += [_card("BITPIX", -64), _card("NAXIS", 2), _card("NAXIS1", int(nx)), _card("NAXIS2", int(ny))]
    head += [_card("EXTEND", True)] if first else [_card("PCOUNT", 0), _card("GCOUNT", 1)]
    head.append(_card("EXTNAME", name))
    if unit:
        head.append(_card("BUNIT", unit))
    for key, value in (wcs.header_cards() if wcs is not None else []):
        head.append(_card(key, value))
    for key, value in cards:
        head.append(_card(key, value))
    body = np.ascontiguousarray(data, dtype=">f8").tobytes()
    return _header(head) + body + b"\x00" * (-len(body) % BLOCK)


def write_maps_fits(maps, wcs: CelestialWcs | None = None, path=None, cards=(), primary: str | None = None):
    """Write ``maps`` (name -> (array (ny, nx), unit), in order; or an object with ``.maps()``
    and ``.cards()``, e.g. :class:`MomentMaps` or :class:`FitMaps`) to ``path``, or return the
    bytes when ``path`` is None. ``cards``: extra (keyword, value) pairs written in every HDU.
    """
    extra = list(cards)
    if hasattr(maps, "maps"):
        extra = list(maps.cards()) + extra if hasattr(maps, "cards") else extra
        maps = maps.maps()
    items = [(str(n), np.asarray(a, dtype=float), u or "") for n, (a, u) in maps.items()]
    if not items:
        raise CassisError("no map to write")
    shapes = {a.shape for _, a, _ in items}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise CassisError(f"maps must all be 2-D of one shape, got {sorted(shapes)}")
    extra.append(("ORIGIN", "cassis-lite"))
    out = []
    if primary is not None:
        chosen = [i for i in items if i[0] == primary]
        if not chosen:
            raise CassisError(f"no map named {primary!r} (maps: {', '.join(n for n, _, _ in items)})")
        out.append(_image_hdu(chosen[0][1], True, chosen[0][0], chosen[0][2], wcs, extra))
        items = [i for i in items if i[0] != primary]
    else:
        out.append(_header([_card("SIMPLE", True, "conforms to FITS standard"), _card("BITPIX", 8),
                            _card("NAXIS", 0), _card("EXTEND", True), _card("ORIGIN", "cassis-lite")]))
    for name, data, unit in items:
        out.append(_image_hdu(data, False, name, unit, wcs, extra))
    content = b"".join(out)
    if path is None:
        return content
    try:
        with open(os.fspath(path), "wb") as fh:
            fh.write(content)
    except OSError as exc:
        raise CassisError(f"cannot write {path}: {exc.strerror or exc}") from None
    return None
