"""Celestial WCS of a cube in pure NumPy: pixel <-> sky for the common projections.

FITS WCS Paper I (Greisen & Calabretta 2002, A&A 395, 1061) and Paper II (Calabretta & Greisen
2002, A&A 395, 1077), as wcslib implements them:

1. Linear step: intermediate world coordinates (deg) x_i = sum_j M_ij (p_j - CRPIX_j), p the
   1-based pixel (0-based pixel + 1, astropy's ``origin=0``), M = CDi_j, else CDELTi PCi_j, else
   the AIPS CROTA2 rotation (Paper II eq. 188).
2. Projection (x, y) <-> native spherical (phi, theta) (Paper II sect. 5): zenithal TAN, SIN
   (slant orthographic with PV2_1 = xi, PV2_2 = eta; NCP is SIN with eta = cot delta_0), ARC,
   STG, ZEA; cylindrical CAR, MER, CEA (PV2_1 = lambda); pseudo-cylindrical SFL (= GLS) and
   AIT. Zenithal projections have their fiducial point at the native pole (theta_0 = 90),
   the others at (0, 0); PV1_1 / PV1_2 move it, and with PV1_0 = 1 the projection is offset so
   that it maps to (0, 0) (wcslib's ``prjoff``; always for AIPS GLS).
3. Spherical rotation native <-> celestial (Paper II eqs. 2, 5) with the native pole's celestial
   coordinates from CRVAL, LONPOLE (PV1_3) and LATPOLE (PV1_4) (Paper II eqs. 8-10, wcslib's
   ``celset``). Computed on unit vectors with atan2, precise to ~1e-13 deg everywhere.

Frames: equatorial (RA/DEC, RADESYS ICRS or FK5 J2000), galactic (GLON/GLAT) and ecliptic
(ELON/ELAT, own frame only). :func:`convert_frame` rotates between ICRS, FK5 (J2000) and
galactic with the matrices astropy uses (galactic pole and longitude of the NCP in FK5 J2000,
Reid & Brunthaler 2004 / Blaauw et al. 1960; the ICRS -> FK5 frame bias of the IERS, USNO
Circular 179 eq. 3.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cassis_lite.errors import CassisError

R2D = 180.0 / math.pi
D2R = math.pi / 180.0

ZENITHAL = ("TAN", "SIN", "ARC", "STG", "ZEA")
CYLINDRICAL = ("CAR", "MER", "CEA", "SFL", "AIT")
#: projection codes read (NCP and GLS are their modern equivalents SIN and SFL)
PROJECTIONS = ZENITHAL + CYLINDRICAL + ("NCP", "GLS")

_LON_PREFIX = {"RA": "equatorial", "GLON": "galactic", "ELON": "ecliptic"}
_LAT_PREFIX = {"DEC": "equatorial", "GLAT": "galactic", "ELAT": "ecliptic"}
FRAMES = ("icrs", "fk5", "galactic")


class WcsError(CassisError):
    """A celestial WCS the core cannot use (unknown projection, inconsistent header)."""


def _num(header, key, default=None):
    v = header.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return default
    return float(v)


def celestial_axes(header, naxis: int):
    """(lon axis, lat axis, frame, projection code) with 1-based FITS axis numbers, or None."""
    lon = lat = None
    frame = None
    code = None
    for i in range(1, naxis + 1):
        ctype = str(header.get(f"CTYPE{i}", "") or "").strip().upper()
        prefix = ctype.split("-", 1)[0]
        if prefix in _LON_PREFIX and len(ctype) >= 5:
            lon, frame, code = i, _LON_PREFIX[prefix], ctype[-3:] if len(ctype) >= 8 else ""
        elif prefix in _LAT_PREFIX and len(ctype) >= 5:
            lat = i
            code = code or (ctype[-3:] if len(ctype) >= 8 else "")
    if lon is None or lat is None:
        return None
    return lon, lat, frame, code


@dataclass
class CelestialWcs:
    """The celestial part of a FITS WCS, for the two spatial axes of a cube.

    ``axes`` are the two FITS axis numbers of the cube's sky plane, in FITS order (x = the first,
    y = the second); ``lon_index`` says which of them (0 or 1) is the longitude. Pixels are
    0-based (FITS WCS with origin 0, as astropy's ``wcs_pix2world(..., 0)``). Build it with
    :meth:`from_header`.
    """

    axes: tuple[int, int]
    lon_index: int
    ctype: tuple[str, str]
    crpix: np.ndarray  # (2,) 1-based, in the order of ``axes``
    crval: np.ndarray  # (2,) (lon, lat) deg
    matrix: np.ndarray  # (2, 2) deg per pixel, rows (x_axis, y_axis) of ``axes``
    projection: str  # modern code: NCP -> SIN, GLS -> SFL
    pv: dict  # projection parameters PV2_m of the latitude axis
    lonpole: float
    latpole: float
    phi0: float
    theta0: float
    frame: str  # 'equatorial', 'galactic', 'ecliptic'
    radesys: str | None = None
    equinox: float | None = None
    original_code: str = ""
    offset: bool = False  # PV1_0: fiducial point at the projection's origin

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_header(cls, header, axes: tuple[int, int] | None = None) -> CelestialWcs:
        """From a FITS header (``.get(key)``), for the celestial axes it declares. ``axes`` (the
        cube's two spatial axes) must hold them."""
        naxis = int(header.get("NAXIS", 0) or 0)
        found = celestial_axes(header, max(naxis, 2))
        if found is None:
            raise WcsError("no celestial axes (CTYPE RA/DEC, GLON/GLAT or ELON/ELAT) in the header")
        lon, lat, frame, code = found
        if axes is None:
            axes = tuple(sorted((lon, lat)))
        if set(axes) != {lon, lat}:
            raise WcsError(f"the sky plane is axes {axes} but the celestial WCS is on axes {lon} and {lat}")
        code = code or "CAR"  # no projection code: a linear (plate carree) grid, as wcslib
        if code not in PROJECTIONS:
            raise WcsError(f"projection {code!r} is not supported (supported: {', '.join(PROJECTIONS)})")
        a, b = axes
        crpix = np.array([_num(header, f"CRPIX{a}", 0.0), _num(header, f"CRPIX{b}", 0.0)])
        crval = np.array([_num(header, f"CRVAL{lon}", 0.0), _num(header, f"CRVAL{lat}", 0.0)])
        matrix = _linear_matrix(header, a, b, naxis)
        pv = {m: _num(header, f"PV{lat}_{m}") for m in range(0, 21) if _num(header, f"PV{lat}_{m}") is not None}
        projection = code
        if code == "NCP":
            # NCP (AIPS) = SIN with xi = 0, eta = cot(delta_0) (Paper II sect. 6.1.2)
            projection = "SIN"
            d0 = crval[1] * D2R
            if math.sin(d0) == 0.0:
                raise WcsError("NCP projection with the reference point on the equator")
            pv = {1: 0.0, 2: math.cos(d0) / math.sin(d0)}
        zenithal = projection in ZENITHAL
        phi0 = _num(header, f"PV{lon}_1", 0.0)
        theta0 = _num(header, f"PV{lon}_2", 90.0 if zenithal else 0.0)
        # PV1_0 = 1: the projection is offset so that the fiducial point maps to (0, 0)
        offset = bool(_num(header, f"PV{lon}_0", 0.0))
        if code == "GLS":
            # AIPS GLS: the reference point is the projection's origin (wcslib celfix)
            projection = "SFL"
            theta0 = crval[1]
            offset = True
        lonpole = _num(header, "LONPOLE", _num(header, f"PV{lon}_3"))
        latpole = _num(header, "LATPOLE", _num(header, f"PV{lon}_4", 90.0))
        if lonpole is None:
            lonpole = phi0 + (180.0 if crval[1] < theta0 else 0.0)
        radesys = header.get("RADESYS") or header.get("RADECSYS")
        radesys = str(radesys).strip().upper() if radesys else None
        equinox = _num(header, "EQUINOX", _num(header, "EPOCH"))
        if frame == "equatorial" and radesys is None:
            radesys = "FK5" if (equinox is None or equinox >= 1984.0) else "FK4"
        if frame == "equatorial" and radesys == "FK5" and equinox is None:
            equinox = 2000.0
        return cls(axes=(a, b), lon_index=0 if lon == a else 1,
                   ctype=(str(header.get(f"CTYPE{a}")).strip(), str(header.get(f"CTYPE{b}")).strip()),
                   crpix=crpix, crval=crval, matrix=matrix, projection=projection, pv=pv,
                   lonpole=float(lonpole), latpole=float(latpole), phi0=float(phi0), theta0=float(theta0),
                   frame=frame, radesys=radesys, equinox=equinox, original_code=code, offset=offset)

    def __post_init__(self):
        self.crpix = np.asarray(self.crpix, dtype=float)
        self.crval = np.asarray(self.crval, dtype=float)
        self.matrix = np.asarray(self.matrix, dtype=float)
        if not np.all(np.isfinite(self.matrix)) or abs(np.linalg.det(self.matrix)) == 0.0:
            raise WcsError("the celestial pixel matrix (CDELT/PC/CD) is singular")
        self._inverse = np.linalg.inv(self.matrix)
        self._alpha_p, self._delta_p = _native_pole(self.crval[0], self.crval[1], self.phi0, self.theta0,
                                                    self.lonpole, self.latpole)
        zenithal = self.projection in ZENITHAL
        if self.offset and (self.phi0, self.theta0) != (0.0, 90.0 if zenithal else 0.0):
            # fiducial point moved: the projection is offset so that it maps to (0, 0)
            x0, y0 = _project(self.projection, self.pv, np.array(self.phi0), np.array(self.theta0))
            self._offset = (float(x0), float(y0))
        else:
            self._offset = (0.0, 0.0)

    # -- transforms ---------------------------------------------------------------------------
    def pixel_to_world(self, x, y):
        """(lon, lat) in deg, lon in [0, 360), of 0-based pixels (x, y) (arrays broadcast);
        NaN outside the projection's domain."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        dx = x + 1.0 - self.crpix[0]
        dy = y + 1.0 - self.crpix[1]
        ix = self.matrix[0, 0] * dx + self.matrix[0, 1] * dy
        iy = self.matrix[1, 0] * dx + self.matrix[1, 1] * dy
        if self.lon_index == 1:
            ix, iy = iy, ix
        ix = ix + self._offset[0]
        iy = iy + self._offset[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            phi, theta = _deproject(self.projection, self.pv, ix, iy)
            lon, lat = _native_to_celestial(phi, theta, self._alpha_p, self._delta_p, self.lonpole)
        return lon, lat

    def world_to_pixel(self, lon, lat):
        """0-based pixels (x, y) of (lon, lat) in deg in the cube's own frame; NaN where the
        projection does not reach (the far hemisphere of TAN, SIN...)."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            phi, theta = _celestial_to_native(lon, lat, self._alpha_p, self._delta_p, self.lonpole)
            ix, iy = _project(self.projection, self.pv, phi, theta)
        ix = ix - self._offset[0]
        iy = iy - self._offset[1]
        if self.lon_index == 1:
            ix, iy = iy, ix
        px = self._inverse[0, 0] * ix + self._inverse[0, 1] * iy
        py = self._inverse[1, 0] * ix + self._inverse[1, 1] * iy
        return px + self.crpix[0] - 1.0, py + self.crpix[1] - 1.0

    def pixel_scale_deg(self) -> tuple[float, float]:
        """Size of a pixel along x and y at the reference point (deg)."""
        return float(np.hypot(*self.matrix[:, 0])), float(np.hypot(*self.matrix[:, 1]))

    @property
    def frame_name(self) -> str:
        """'icrs', 'fk5', 'fk4', 'galactic' or 'ecliptic'."""
        if self.frame == "equatorial":
            return (self.radesys or "FK5").lower()
        return self.frame

    def header_cards(self) -> list[tuple[str, object]]:
        """FITS keywords of this WCS for a 2-D image (its axes renumbered 1 and 2)."""
        lon_ax = 1 + self.lon_index
        lat_ax = 2 - self.lon_index
        cards = []
        for i in (1, 2):
            cards += [(f"CTYPE{i}", self.ctype[i - 1]), (f"CRPIX{i}", float(self.crpix[i - 1])),
                      (f"CRVAL{i}", float(self.crval[0] if i == lon_ax else self.crval[1])),
                      (f"CUNIT{i}", "deg")]
        for i in (1, 2):
            for j in (1, 2):
                cards.append((f"CD{i}_{j}", float(self.matrix[i - 1, j - 1])))
        if self.original_code != "NCP":
            for m, v in sorted(self.pv.items()):
                cards.append((f"PV{lat_ax}_{m}", float(v)))
        if self.original_code != "GLS" and (self.phi0, self.theta0) != (0.0, 90.0 if self.projection in ZENITHAL else 0.0):
            cards += [(f"PV{lon_ax}_0", 1.0 if self.offset else 0.0), (f"PV{lon_ax}_1", self.phi0),
                      (f"PV{lon_ax}_2", self.theta0)]
        cards += [("LONPOLE", float(self.lonpole)), ("LATPOLE", float(self.latpole))]
        if self.frame == "equatorial":
            if self.radesys:
                cards.append(("RADESYS", self.radesys))
            if self.equinox is not None:
                cards.append(("EQUINOX", float(self.equinox)))
        return cards


def _linear_matrix(header, a: int, b: int, naxis: int) -> np.ndarray:
    """Pixel -> intermediate matrix (deg/pixel) of axes a, b (Paper I eqs. 1-3; Paper II eq. 188)."""
    axes = (a, b)
    if any(f"CD{i}_{j}" in header for i in axes for j in axes):
        m = np.array([[_num(header, f"CD{i}_{j}", 0.0) for j in axes] for i in axes])
        others = [k for k in range(1, naxis + 1) if k not in axes]
        if any(_num(header, f"CD{i}_{k}", 0.0) != 0.0 for i in axes for k in others):
            raise WcsError("the celestial axes are coupled to another axis by the CD matrix")
        return m
    cdelt = np.array([_num(header, f"CDELT{i}", 1.0) for i in axes])
    if any(f"PC{i}_{j}" in header for i in axes for j in axes) or not any(f"CROTA{i}" in header for i in axes):
        pc = np.array([[_num(header, f"PC{i}_{j}", 1.0 if i == j else 0.0) for j in axes] for i in axes])
        others = [k for k in range(1, naxis + 1) if k not in axes]
        if any(_num(header, f"PC{i}_{k}", 0.0) != 0.0 for i in axes for k in others):
            raise WcsError("the celestial axes are coupled to another axis by the PC matrix")
        return cdelt[:, None] * pc
    # AIPS convention: CROTA of the latitude axis
    found = celestial_axes(header, max(naxis, 2))
    lat = found[1] if found else b
    rho = _num(header, f"CROTA{lat}", 0.0) * D2R
    c, s = math.cos(rho), math.sin(rho)
    lon_first = found is None or found[0] == a
    if lon_first:
        return np.array([[cdelt[0] * c, -cdelt[1] * s], [cdelt[0] * s, cdelt[1] * c]])
    # latitude axis first: the same rotation with the roles of the two axes swapped
    return np.array([[cdelt[0] * c, cdelt[0] * s], [-cdelt[1] * s, cdelt[1] * c]])


# --- projections (Paper II sect. 5) ---------------------------------------------------------

def _project(code: str, pv: dict, phi, theta):
    """Native (phi, theta) deg -> intermediate (x, y) deg; NaN outside the projection."""
    phi = np.asarray(phi, dtype=float)
    theta = np.asarray(theta, dtype=float)
    p = phi * D2R
    t = theta * D2R
    if code in ZENITHAL:
        if code == "SIN":
            xi, eta = pv.get(1, 0.0), pv.get(2, 0.0)
            ct = np.cos(t)
            z = 2.0 * np.sin((90.0 - theta) * D2R / 2.0) ** 2  # 1 - sin(theta) without cancellation
            x = R2D * (ct * np.sin(p) + xi * z)
            y = -R2D * (ct * np.cos(p) - eta * z)
            # the near hemisphere only (wcslib: the limb where the slant makes it visible)
            bad = theta < (0.0 if xi == 0.0 and eta == 0.0 else -90.0)
            return np.where(bad, np.nan, x), np.where(bad, np.nan, y)
        if code == "TAN":
            r = np.where(theta > 0.0, R2D * np.cos(t) / np.sin(t), np.nan)
        elif code == "ARC":
            r = 90.0 - theta
        elif code == "STG":
            r = np.where(theta > -90.0, 2.0 * R2D * np.tan((90.0 - theta) * D2R / 2.0), np.nan)
        else:  # ZEA
            r = 2.0 * R2D * np.sin((90.0 - theta) * D2R / 2.0)
        return r * np.sin(p), -r * np.cos(p)
    phi = np.where(phi > 180.0, phi - 360.0, np.where(phi < -180.0, phi + 360.0, phi))
    p = phi * D2R
    if code == "CAR":
        return phi, theta
    if code == "MER":
        y = np.where(np.abs(theta) < 90.0, R2D * np.log(np.tan((90.0 + theta) * D2R / 2.0)), np.nan)
        return phi, y
    if code == "CEA":
        lam = pv.get(1, 1.0)
        return phi, R2D * np.sin(t) / lam
    if code == "SFL":
        return phi * np.cos(t), theta
    if code == "AIT":
        ct = np.cos(t)
        gamma = np.sqrt(2.0 / (1.0 + ct * np.cos(p / 2.0)))
        return 2.0 * R2D * gamma * ct * np.sin(p / 2.0), R2D * gamma * np.sin(t)
    raise WcsError(f"projection {code!r} is not supported")


def _deproject(code: str, pv: dict, x, y):
    """Intermediate (x, y) deg -> native (phi, theta) deg; NaN outside the projection."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if code in ZENITHAL:
        r = np.hypot(x, y)
        phi = np.where(r == 0.0, 0.0, np.arctan2(x, -y) * R2D)
        if code == "TAN":
            theta = np.arctan2(R2D, r) * R2D
        elif code == "SIN":
            return _sin_deproject(pv, x, y)
        elif code == "ARC":
            theta = np.where(r <= 180.0, 90.0 - r, np.nan)
        elif code == "STG":
            theta = 90.0 - 2.0 * np.arctan(r * D2R / 2.0) * R2D
        else:  # ZEA
            s = r * D2R / 2.0
            theta = np.where(s <= 1.0, 90.0 - 2.0 * np.arcsin(np.minimum(s, 1.0)) * R2D, np.nan)
        return phi, theta
    if code == "CAR":
        ok = (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
        return np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    if code == "MER":
        theta = 2.0 * np.arctan(np.exp(y * D2R)) * R2D - 90.0
        return np.where(np.abs(x) <= 180.0, x, np.nan), theta
    if code == "CEA":
        lam = pv.get(1, 1.0)
        s = lam * y * D2R
        ok = (np.abs(s) <= 1.0) & (np.abs(x) <= 180.0)
        return np.where(ok, x, np.nan), np.where(ok, np.arcsin(np.clip(s, -1.0, 1.0)) * R2D, np.nan)
    if code == "SFL":
        c = np.cos(y * D2R)
        phi = np.where(c > 0.0, x / np.where(c > 0.0, c, 1.0), 0.0)
        ok = (np.abs(phi) <= 180.0 + 1e-12) & (np.abs(y) <= 90.0)
        return np.where(ok, phi, np.nan), np.where(ok, y, np.nan)
    if code == "AIT":
        xs = x * D2R / 4.0
        ys = y * D2R / 2.0
        z2 = 1.0 - xs * xs - ys * ys
        ok = z2 >= 0.5
        z = np.sqrt(np.where(ok, z2, 1.0))
        phi = 2.0 * np.arctan2(z * x * D2R / 2.0, 2.0 * z * z - 1.0) * R2D
        theta = np.arcsin(np.clip(y * D2R * z, -1.0, 1.0)) * R2D
        return np.where(ok, phi, np.nan), np.where(ok, theta, np.nan)
    raise WcsError(f"projection {code!r} is not supported")


def _sin_deproject(pv: dict, x, y):
    """Slant orthographic SIN (xi, eta) inverse (Paper II eqs. 38-45, wcslib ``sinx2s``)."""
    xi, eta = pv.get(1, 0.0), pv.get(2, 0.0)
    x0 = x * D2R
    y0 = y * D2R
    r2 = x0 * x0 + y0 * y0
    if xi == 0.0 and eta == 0.0:
        ok = r2 <= 1.0
        r2c = np.minimum(r2, 1.0)
        theta = np.where(r2c < 0.5, np.arccos(np.sqrt(r2c)), np.arcsin(np.sqrt(1.0 - r2c))) * R2D
        phi = np.where(r2 == 0.0, 0.0, np.arctan2(x0, -y0) * R2D)
        return np.where(ok, phi, np.nan), np.where(ok, theta, np.nan)
    # with z = 1 - sin(theta), eq. 45 of Paper II becomes a z^2 - 2 (a + b) z + r^2 = 0
    # (a = xi^2 + eta^2 + 1, b = x xi + y eta - xi^2 - eta^2): its small root, the solution
    # nearest the native pole, taken without cancellation; theta = 90 - 2 asin(sqrt(z / 2))
    w1 = xi * xi + eta * eta
    a = w1 + 1.0
    ab = a + x0 * xi + y0 * eta - w1
    disc = ab * ab - a * r2
    ok = disc >= 0.0
    den = ab + np.sqrt(np.where(ok, disc, 0.0))
    z = np.where(den > 0.0, r2 / np.where(den > 0.0, den, 1.0), np.nan)
    ok &= (z >= 0.0) & (z <= 2.0)
    z = np.where(ok, z, 0.0)
    theta = 90.0 - 2.0 * np.arcsin(np.sqrt(z / 2.0)) * R2D
    x1 = -y0 + eta * z
    y1 = x0 - xi * z
    phi = np.where((x1 == 0.0) & (y1 == 0.0), 0.0, np.arctan2(y1, x1) * R2D)
    return np.where(ok, phi, np.nan), np.where(ok, theta, np.nan)


# --- spherical rotation (Paper II sect. 2.3) ------------------------------------------------

def _native_pole(alpha0, delta0, phi0, theta0, phip, thetap):
    """Celestial (alpha_p, delta_p) of the native pole (Paper II eqs. 8-10; wcslib ``celset``)."""
    if theta0 == 90.0:
        return float(alpha0), float(delta0)
    tol = 1e-10
    slat0, clat0 = math.sin(delta0 * D2R), math.cos(delta0 * D2R)
    sthe0, cthe0 = math.sin(theta0 * D2R), math.cos(theta0 * D2R)
    sphi, cphi = math.sin((phip - phi0) * D2R), math.cos((phip - phi0) * D2R)
    x = cthe0 * cphi
    y = sthe0
    z = math.hypot(x, y)
    if z == 0.0:
        if slat0 != 0.0:
            raise WcsError("inconsistent LONPOLE / reference point: no native pole")
        latp = thetap
    else:
        if abs(slat0 / z) > 1.0 + tol:
            raise WcsError("inconsistent LONPOLE / reference point: no native pole")
        u = math.atan2(y, x) * R2D
        v = math.acos(max(-1.0, min(1.0, slat0 / z))) * R2D

        def wrap(a):
            return a - 360.0 if a > 180.0 else (a + 360.0 if a < -180.0 else a)

        latp1, latp2 = wrap(u + v), wrap(u - v)
        if abs(latp1) < 90.0 + tol and abs(latp2) < 90.0 + tol:
            latp = latp1 if abs(thetap - latp1) < abs(thetap - latp2) else latp2
        elif abs(latp1) < 90.0 + tol:
            latp = latp1
        else:
            latp = latp2
        latp = max(-90.0, min(90.0, latp))
    z = math.cos(latp * D2R) * clat0
    if abs(z) < tol:
        if abs(clat0) < tol:
            lngp = alpha0
        elif latp > 0.0:
            lngp = alpha0 + phip - phi0 - 180.0
        else:
            lngp = alpha0 - phip + phi0
    else:
        xx = (sthe0 - math.sin(latp * D2R) * slat0) / z
        yy = sphi * cthe0 / clat0
        lngp = alpha0 - math.atan2(yy, xx) * R2D
    if alpha0 >= 0.0:
        if lngp < 0.0:
            lngp += 360.0
    elif lngp > 0.0:
        lngp -= 360.0
    return float(lngp), float(latp)


def _rotate(lon, lat, lon_p, lat_p, phi_p, inverse: bool):
    """Paper II eq. 2 (native -> celestial) or eq. 5 (celestial -> native) on unit vectors."""
    lon = np.asarray(lon, dtype=float) * D2R
    lat = np.asarray(lat, dtype=float) * D2R
    sp, cp = math.sin(lat_p * D2R), math.cos(lat_p * D2R)
    if inverse:  # celestial (lon = alpha, lat = delta) -> native
        d = lon - lon_p * D2R
        xx = np.sin(lat) * cp - np.cos(lat) * sp * np.cos(d)
        yy = -np.cos(lat) * np.sin(d)
        zz = np.sin(lat) * sp + np.cos(lat) * cp * np.cos(d)
        out_lon = phi_p * D2R + np.arctan2(yy, xx)
    else:  # native (lon = phi, lat = theta) -> celestial
        d = lon - phi_p * D2R
        xx = np.sin(lat) * cp - np.cos(lat) * sp * np.cos(d)
        yy = -np.cos(lat) * np.sin(d)
        zz = np.sin(lat) * sp + np.cos(lat) * cp * np.cos(d)
        out_lon = lon_p * D2R + np.arctan2(yy, xx)
    out_lat = np.arctan2(zz, np.hypot(xx, yy))
    return out_lon * R2D, out_lat * R2D


def _native_to_celestial(phi, theta, alpha_p, delta_p, phi_p):
    lon, lat = _rotate(phi, theta, alpha_p, delta_p, phi_p, inverse=False)
    return np.mod(lon, 360.0), lat


def _celestial_to_native(alpha, delta, alpha_p, delta_p, phi_p):
    phi, theta = _rotate(alpha, delta, alpha_p, delta_p, phi_p, inverse=True)
    phi = np.mod(phi + 180.0, 360.0) - 180.0
    return phi, theta


# --- frames ---------------------------------------------------------------------------------

def _rotation_matrix(angle_deg: float, axis: str) -> np.ndarray:
    """astropy's ``rotation_matrix``: rotation of the coordinate frame by ``angle`` about ``axis``."""
    a = angle_deg * D2R
    c, s = math.cos(a), math.sin(a)
    if axis == "x":
        return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
    if axis == "y":
        return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


#: FK5 (J2000) -> galactic: north galactic pole (192.8594812065348, 27.12825118085622) deg and
#: galactic longitude of the north celestial pole 122.9319185680026 deg, in FK5 J2000
_FK5_TO_GAL = (_rotation_matrix(180.0 - 122.9319185680026, "z") @ _rotation_matrix(90.0 - 27.12825118085622, "y")
               @ _rotation_matrix(192.8594812065348, "z"))
#: ICRS -> FK5 (J2000) frame bias (USNO Circular 179 eq. 3.4): eta0 = -19.9 mas, xi0 = 9.1 mas,
#: d_alpha0 = -22.9 mas
_ICRS_TO_FK5 = (_rotation_matrix(19.9 / 3.6e6, "x") @ _rotation_matrix(9.1 / 3.6e6, "y")
                @ _rotation_matrix(-22.9 / 3.6e6, "z"))
_TO_ICRS = {"icrs": np.eye(3), "fk5": _ICRS_TO_FK5.T, "galactic": (_FK5_TO_GAL @ _ICRS_TO_FK5).T}


def convert_frame(lon, lat, from_frame: str, to_frame: str):
    """Rotate (lon, lat) deg from one of ``icrs``, ``fk5`` (J2000), ``galactic`` to another."""
    f, t = from_frame.lower(), to_frame.lower()
    for name in (f, t):
        if name not in _TO_ICRS:
            raise WcsError(f"cannot convert coordinates of frame {name!r} (known: {', '.join(FRAMES)})")
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if f == t:
        return np.mod(lon, 360.0), lat
    m = _TO_ICRS[t].T @ _TO_ICRS[f]
    cl = np.cos(lat * D2R)
    v = np.stack([cl * np.cos(lon * D2R), cl * np.sin(lon * D2R), np.sin(lat * D2R)])
    w = np.tensordot(m, v, axes=1)
    return np.mod(np.arctan2(w[1], w[0]) * R2D, 360.0), np.arctan2(w[2], np.hypot(w[0], w[1])) * R2D
