"""Optical and UV absorption lines, equivalent widths, curves of growth, continua and stellar
broadening (the analyses of CASSIS-POLLUX), in pure NumPy (SciPy for fits and spline continua,
imported where they need it).

- :func:`voigt_flux`, :func:`optical_depth`: Voigt absorption of :class:`AbsorptionLines`
  (:func:`system_lines` builds them from :class:`Component` objects and the line database),
  convolved with a Gaussian line spread function;
- :class:`AbsorptionModel`: multi-component, multi-ion fits (lmfit's shape; JSON in
  :mod:`~cassis_lite.optical.config`);
- :func:`equivalent_width`, :func:`apparent_column_density`: measurements on a spectrum;
- :func:`equivalent_width_ma`, :func:`curve_of_growth`, :func:`fit_curve_of_growth`;
- :func:`fit_continuum`: continuum and normalised spectrum;
- :func:`broaden`: radial velocity, rotation, macroturbulence and instrumental profile.

Formulas, references and accuracy: ``docs/optical.md``.
"""

from cassis_lite.optical.absorption import lsf_kernel, optical_depth, voigt_flux
from cassis_lite.optical.broadening import broaden
from cassis_lite.optical.cog import (
                                     CurveOfGrowth,
                                     CurveOfGrowthFit,
                                     curve_of_growth,
                                     equivalent_width_ma,
                                     fit_curve_of_growth,
                                     line_equivalent_width_ma,
                                     weak_line_ew_ma,
)
from cassis_lite.optical.config import AbsorptionConfig
from cassis_lite.optical.continuum import Continuum, fit_continuum
from cassis_lite.optical.fit import AbsorptionFitResult, AbsorptionModel
from cassis_lite.optical.lines import AbsorptionLines, Component, nearest_line, system_lines
from cassis_lite.optical.measure import ApparentColumn, EquivalentWidth, apparent_column_density, equivalent_width

__all__ = ["AbsorptionConfig", "AbsorptionFitResult", "AbsorptionLines", "AbsorptionModel", "ApparentColumn",
           "Component", "Continuum", "CurveOfGrowth", "CurveOfGrowthFit", "EquivalentWidth",
           "apparent_column_density", "broaden", "curve_of_growth", "equivalent_width", "equivalent_width_ma",
           "fit_continuum", "fit_curve_of_growth", "line_equivalent_width_ma", "lsf_kernel", "nearest_line",
           "optical_depth", "system_lines", "voigt_flux", "weak_line_ew_ma"]
