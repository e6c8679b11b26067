"""Multi-component, multi-ion Voigt fit of a normalised absorption spectrum.

:class:`AbsorptionModel` is in lmfit's shape (``make_params``, ``eval``, ``fit``), like
:class:`cassis_lite.fitting.LteModel`, on the JSON of :mod:`cassis_lite.optical.config`. The
residual minimised is (F_obs - F_model) / sigma over the fitted pixels, F_model the
:func:`~cassis_lite.optical.voigt_flux` of every catalogue line of the ions (Morton 2003) with
the line spread function of the configuration; the minimiser and the 1-sigma errors
((J^T J)^-1 chi2_red) are those of :func:`cassis_lite.fitting.parameters.least_squares_fit`.
Column densities are fitted as log10 N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.analysis.features import robust_rms
from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.errors import ConfigError, OpticalError
from cassis_lite.fitting.parameters import (
    FitError,
    FitResult,
    Parameter,
    Parameters,
    least_squares_fit,
    parameter_label,
)
from cassis_lite.optical.absorption import POINTS_PER_B, as_vacuum_a, convolved_flux, lsf_kernel, to_x, voigt_flux
from cassis_lite.optical.config import DOMAIN, FIT_KEYS, AbsorptionConfig, fit_options
from cassis_lite.optical.lines import AbsorptionLines, database, ion_line_data


@dataclass
class AbsorptionFitResult:
    """An absorption fit: ``fit`` (best ``params`` with 1-sigma ``stderr``, chi-square, covariance),
    ``model`` (best normalised flux at every pixel of the spectrum), ``mask`` (pixels fitted),
    ``sigma`` (their 1-sigma), ``wave_a`` (the spectrum's vacuum wavelengths) and ``lines`` (the
    lines at the best values)."""

    fit: FitResult
    model_config: AbsorptionConfig
    model: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    sigma: np.ndarray = field(repr=False)
    wave_a: np.ndarray = field(repr=False)
    lines: AbsorptionLines = field(repr=False)

    @property
    def params(self) -> Parameters:
        return self.fit.params

    @property
    def redchi(self) -> float:
        return self.fit.redchi

    def report(self) -> str:
        """One line per parameter, the chi-square, and a warning when the minimiser did not converge."""
        text = self.fit.report()
        if not self.fit.success:
            text += f"\nwarning: the minimiser did not converge: {self.fit.message}"
        return text

    def components(self) -> list[dict]:
        """Per component, per ion: log10 N, b and v with their 1-sigma errors."""
        cfg = self.model_config
        out = []
        for ci, name in enumerate(cfg.components):
            ions = {}
            for ion in cfg.ions[ci]:
                row = {}
                for key, pname in zip(("logn_cm2", "b_kms", "v_kms"), _names(cfg, ci, ion)):
                    p = self.params[pname]
                    row[key], row[key.split("_")[0] + "_err"] = p.value, p.stderr
                ions[ion] = row
            out.append({"name": name, "ions": ions})
        return out

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        d["redshift"] = self.model_config.redshift
        d["lsf"] = self.model_config.lsf
        d["components"] = self.components()
        return d


def _names(cfg: AbsorptionConfig, ci: int, ion: str) -> tuple[str, str, str]:
    """Parameter names of log10 N, b and v of ``ion`` in component ``ci``."""
    c, label = cfg.components[ci], parameter_label(ion)
    if f"{c}_b" in cfg.params:
        return f"{c}_logn_{label}", f"{c}_b", f"{c}_v"
    return f"{c}_logn_{label}", f"{c}_b_{label}", f"{c}_v_{label}"


class AbsorptionModel:
    """Voigt absorption lines of several components and ions, to evaluate and fit.

    Parameters
    ----------
    config : dict or AbsorptionConfig
        The absorption JSON (:mod:`cassis_lite.optical.config`).
    db : LineDatabase, optional
        Default: the bundled database. Every ion's lines are read once, here.

    Examples
    --------
    >>> model = AbsorptionModel({"redshift": 0.5, "lsf": {"fwhm_kms": 7.0}, "components": [
    ...     {"b_kms": {"value": 10, "min": 2, "max": 40}, "v_kms": {"value": 0, "min": -30, "max": 30},
    ...      "ions": [{"ion": "C IV", "logn_cm2": {"value": 13.5}}]}]})
    >>> params = model.make_params()
    >>> flux = model.eval(params, wave_a)
    >>> result = model.fit(spectrum, params)
    >>> print(result.report())
    """

    def __init__(self, config, db=None):
        self.config = config if isinstance(config, AbsorptionConfig) else AbsorptionConfig.from_dict(config)
        self.db = database(db)
        rows = []
        for ci in range(len(self.config.components)):
            for ion in self.config.ions[ci]:
                data = ion_line_data(self.db, ion)
                n = data["wave_vac_a"].size
                rows.append((AbsorptionLines(data["wave_vac_a"], data["f_osc"], data["gamma_s"], np.zeros(n),
                                             np.ones(n), np.zeros(n), np.full(n, data["species"]), np.full(n, ci)),
                             _names(self.config, ci, ion), n))
        #: every catalogue line of every (component, ion), values filled in by :meth:`lines`
        self._template = AbsorptionLines.concatenate([r[0] for r in rows])
        self._row_names = [np.repeat(np.array([r[1][k] for r in rows]), [r[2] for r in rows]) for k in range(3)]

    # -- parameters ---------------------------------------------------------------------------
    def config_params(self) -> Parameters:
        """The parameters as the JSON gives them: a number is fixed, a parameter object as written."""
        return self.config.params.copy()

    def make_params(self) -> Parameters:
        """Every value free, as lmfit's ``Model.make_params``: a plain number of the JSON becomes a
        free parameter within its physical domain (b 0.1-1000 km/s, log N 0-25; v unbounded);
        parameter objects keep what they say."""
        params = self.config_params()
        for name, p in params.items():
            if self.config.specs[name]:
                continue
            lo, hi = DOMAIN[self.config.slots[name].key]
            params[name] = Parameter(name, p.value, True, lo, hi, unit=p.unit)
        return params

    # -- evaluation ---------------------------------------------------------------------------
    def lines(self, params: Parameters | None = None) -> AbsorptionLines:
        """Every catalogue line of the model's ions at the values of ``params`` (default: the JSON's)."""
        work = (self.config_params() if params is None else params).copy()
        work.resolve_ties()
        values = work.valuesdict()
        missing = sorted(set(self.config.params) - set(values))
        if missing:
            raise ConfigError(f"parameter {missing[0]} is missing (make them with model.make_params())")
        t = self._template
        logn, b, v = (np.array([values[n] for n in names]) for names in self._row_names)
        return AbsorptionLines(t.wrest_a, t.f_osc, t.gamma_s, logn, b, v, t.ion, t.component)

    def eval(self, params: Parameters | None = None, wave_a=None, *, air: bool = False) -> np.ndarray:
        """Normalised flux at observed wavelengths ``wave_a`` (A; vacuum, or air if ``air``) for
        ``params`` (default: the JSON's values), with the configuration's line spread function."""
        if wave_a is None:
            raise OpticalError("eval needs the wavelengths wave_a (A)")
        return voigt_flux(wave_a, self.lines(params), redshift=self.config.redshift, air=air, **self.config.lsf)

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, spectrum, params: Parameters | None = None, **options) -> AbsorptionFitResult:
        """Fit the free ``params`` (default: :meth:`config_params`) to a continuum-normalised
        ``spectrum`` (:class:`~cassis_lite.spectrum.Spectrum`: its frequencies give the vacuum
        wavelengths; its ``uncertainty``, if any, the weights). ``options``: the keys of the
        JSON's ``"fit"`` object, over the configuration's own."""
        return self.fit_arrays(spectrum.wavelength("angstrom"), spectrum.intensity, spectrum.uncertainty,
                               params, **options)

    def fit_arrays(self, wave_a, flux, uncertainty=None, params: Parameters | None = None, *, air: bool = False,
                   **options) -> AbsorptionFitResult:
        """:meth:`fit` on arrays: observed wavelengths ``wave_a`` (A; vacuum, or air if ``air``),
        normalised ``flux`` and its 1-sigma ``uncertainty`` (optional)."""
        unknown = set(options) - FIT_KEYS
        if unknown:
            raise ConfigError(f"unknown fit option {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(FIT_KEYS))})")
        opts = {**self.config.fit, **fit_options(options)}
        wave = as_vacuum_a(wave_a, air)
        y = np.asarray(flux, dtype=float).ravel()
        if y.shape != wave.shape:
            raise OpticalError(f"wavelength ({wave.size}) and flux ({y.size}) arrays differ in length")
        params = self.config_params() if params is None else params
        mask = self._fit_mask(wave, opts, params) & np.isfinite(y)
        sigma = self._sigma(y, uncertainty, mask, opts)
        mask &= np.isfinite(sigma) & (sigma > 0)
        if not mask.any():
            raise FitError("no pixel of the spectrum with finite flux and uncertainty in the fit windows")
        wm, ym, sm = wave[mask], y[mask], sigma[mask]
        z, lsf = self.config.redshift, self.config.lsf
        t = self._template
        model_at = self._fixed_grid_model(wm, params)

        def residual(values: dict[str, float]) -> np.ndarray:
            logn, b, v = (np.array([values[n] for n in names]) for names in self._row_names)
            lines = AbsorptionLines(t.wrest_a, t.f_osc, t.gamma_s, logn, b, v, t.ion, t.component)
            return (ym - model_at(lines)) / sm

        res = least_squares_fit(residual, params, max_nfev=int(opts.get("max_nfev", 200)))
        best = self.lines(res.params)
        model = voigt_flux(wave, best, redshift=z, **lsf)
        return AbsorptionFitResult(res, self.config, model, mask, sigma, wave, best)

    def _fixed_grid_model(self, wave: np.ndarray, params: Parameters):
        """lines -> normalised flux at ``wave`` on working grids fixed for the whole fit (the model
        is then smooth in the parameters): the runs of fitted pixels plus the line spread function's
        reach, at a step of b / 4 for the smallest b the fit may reach (its lower bound, or half its
        start value if that is larger)."""
        z = self.config.redshift
        lsf = lsf_kernel(**self.config.lsf)
        if lsf is None:
            return lambda lines: voigt_flux(wave, lines, redshift=z)
        kernel, axis = lsf
        b_floor = min(max(p.min, 0.5 * p.value) for n, p in params.items()
                      if self.config.slots[n].key == "b_kms" and p.expr is None)
        x = np.sort(to_x(wave, axis))
        margin = kernel.half_width
        breaks = np.flatnonzero(np.diff(x) > 2.0 * margin) + 1
        segments = []
        for run in np.split(x, breaks):
            step = b_floor / (POINTS_PER_B * C_LIGHT_KMS) * (run[0] if axis == "wavelength" else 1.0)
            segments.append((run[0] - margin, run[-1] + margin, step))
        x_data = to_x(wave, axis)
        return lambda lines: convolved_flux(x_data, lines, z, kernel, axis, segments)

    def _fit_mask(self, wave: np.ndarray, opts: dict, params: Parameters) -> np.ndarray:
        if opts.get("windows_a") is not None:
            mask = np.zeros(wave.size, dtype=bool)
            for lo, hi in opts["windows_a"]:
                lo, hi = as_vacuum_a([lo, hi], opts.get("windows_air", False))
                mask |= (wave >= lo) & (wave <= hi)
            return mask
        if opts.get("windows_kms") is not None:
            vmin, vmax = opts["windows_kms"]
            centres = np.unique(self._template.wrest_a) * (1.0 + self.config.redshift)
            mask = np.zeros(wave.size, dtype=bool)
            for c in centres[(centres * (1 + vmax / C_LIGHT_KMS) >= wave.min())
                             & (centres * (1 + vmin / C_LIGHT_KMS) <= wave.max())]:
                mask |= (wave >= c * (1 + vmin / C_LIGHT_KMS)) & (wave <= c * (1 + vmax / C_LIGHT_KMS))
            return mask
        return np.ones(wave.size, dtype=bool)

    @staticmethod
    def _sigma(y: np.ndarray, uncertainty, mask: np.ndarray, opts: dict) -> np.ndarray:
        """1-sigma per pixel: the option ``sigma``, else the uncertainty, else the robust rms of
        the fitted pixels' first differences / sqrt(2) (white noise; lines barely change it)."""
        if opts.get("sigma") is not None:
            return np.full(y.size, float(opts["sigma"]))
        if uncertainty is not None:
            err = np.asarray(uncertainty, dtype=float).ravel()
            if err.shape != y.shape:
                raise OpticalError(f"uncertainty ({err.size}) and flux ({y.size}) arrays differ in length")
            return err
        good = y[mask & np.isfinite(y)]
        if good.size < 3:
            raise FitError("fewer than 3 pixels to estimate the noise from: give fit.sigma")
        return np.full(y.size, robust_rms(np.diff(good)) / math.sqrt(2.0))
