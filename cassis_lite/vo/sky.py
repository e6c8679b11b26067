"""Sky positions for the archive search: RA/Dec in degrees or sexagesimal, angular separation."""

from __future__ import annotations

import math
import re

import numpy as np

from cassis_lite.errors import CassisError


class CoordinateError(CassisError):
    """A right ascension or declination that cannot be read, or out of range."""


_SEXA = re.compile(r"^\s*([+-]?)\s*(\d+(?:\.\d*)?)[\s:hHdD°]+(\d+(?:\.\d*)?)[\s:mM']+(\d+(?:\.\d*)?)\s*[sS\"]?\s*$")


def _sexagesimal(text: str):
    m = _SEXA.match(text)
    if not m:
        return None
    sign = -1.0 if m.group(1) == "-" else 1.0
    a, b, c = float(m.group(2)), float(m.group(3)), float(m.group(4))
    if b >= 60 or c >= 60:
        raise CoordinateError(f"{text!r}: minutes and seconds must be < 60")
    return sign, a + b / 60.0 + c / 3600.0


def _angle_deg(text, what: str, example: str, hours: bool) -> float:
    """Degrees from a number, ``"12.5"`` / ``"12.5d"`` or a sexagesimal string (hours if ``hours``)."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    sexa = _sexagesimal(s)
    if sexa is not None:
        if hours and sexa[0] < 0:
            raise CoordinateError(f"{what} {s!r} is negative")
        return sexa[0] * sexa[1] * (15.0 if hours else 1.0)
    try:
        return float(s.rstrip("dD\u00b0"))
    except ValueError:
        raise CoordinateError(f"cannot read {what} {s!r} (degrees, or {example})") from None


def parse_ra_deg(text) -> float:
    """Right ascension in degrees from degrees (``248.0954``) or hours ``hh:mm:ss.s`` /
    ``16h32m22.9s`` / ``16 32 22.9``."""
    value = _angle_deg(text, "right ascension", "hh:mm:ss.s", hours=True)
    if not (math.isfinite(value) and 0.0 <= value < 360.0):
        raise CoordinateError(f"right ascension {text!r} is outside 0-360 degrees")
    return value


def parse_dec_deg(text) -> float:
    """Declination in degrees from degrees (``-24.4767``) or ``+dd:mm:ss.s`` / ``-24d28m36s``."""
    value = _angle_deg(text, "declination", "+dd:mm:ss.s", hours=False)
    if not (math.isfinite(value) and -90.0 <= value <= 90.0):
        raise CoordinateError(f"declination {text!r} is outside -90..90 degrees")
    return value


def separation_deg(ra1_deg, dec1_deg, ra2_deg, dec2_deg):
    """Angular separation in degrees (Vincenty's formula on the sphere, accurate at all angles)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    dra = ra2 - ra1
    s1, c1, s2, c2 = np.sin(dec1), np.cos(dec1), np.sin(dec2), np.cos(dec2)
    num = np.hypot(c2 * np.sin(dra), c1 * s2 - s1 * c2 * np.cos(dra))
    den = s1 * s2 + c1 * c2 * np.cos(dra)
    return np.degrees(np.arctan2(num, den))
