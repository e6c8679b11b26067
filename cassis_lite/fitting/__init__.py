"""Fitting: lmfit-shaped parameters and the LTE fit of a spectrum (CASSIS multi-fit).

:mod:`~cassis_lite.fitting.parameters` maps :class:`Parameters` (value, vary, bounds, tie, log)
onto SciPy's ``least_squares`` with 1-sigma errors; :mod:`~cassis_lite.fitting.lte_fit` has
:class:`LteModel` (``make_params``, ``eval``, ``fit``) and the JSON path ``fit_lte``.
"""

from cassis_lite.fitting.lte_fit import LteFitResult, LteModel, fit_lte
from cassis_lite.fitting.parameters import FitError, FitResult, Parameter, ParameterError, Parameters

__all__ = ["FitError", "FitResult", "LteFitResult", "LteModel", "Parameter", "ParameterError", "Parameters",
           "fit_lte"]
