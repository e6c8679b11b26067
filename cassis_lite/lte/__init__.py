"""LTE synthetic spectra with CASSIS conventions, vectorised and sparse in frequency.

Layers, from the physics up (each usable on its own):

- :mod:`~cassis_lite.lte.physics`: J(T), N_u, line-centre opacity, line centre and width;
- :mod:`~cassis_lite.lte.profile`: the sparse sum of Gaussian profiles on a grid;
- :mod:`~cassis_lite.lte.beam`: beam size, filling factor, Jy/beam <-> K;
- :mod:`~cassis_lite.lte.transfer`: opacity of a component from plain line arrays and Q(T_ex)
  (:func:`component_opacity`) and the radiative transfer through components
  (:func:`radiative_transfer`): what a fitter calls without touching the database;
- :mod:`~cassis_lite.lte.config`: the JSON schema (:class:`ModelConfig`);
- :mod:`~cassis_lite.lte.compute`: :func:`compute_spectrum` and :class:`PreparedModel`
  (database selection once, fast re-evaluation).
"""

from cassis_lite.errors import ConfigError
from cassis_lite.lte.compute import LteResult, PreparedModel, compute_spectrum, convert_tmb
from cassis_lite.lte.config import ComponentConfig, GridConfig, ModelConfig, SpeciesConfig, Telescope
from cassis_lite.lte.transfer import Layer, LineList, component_opacity, radiative_transfer

__all__ = [
    "ComponentConfig",
    "ConfigError",
    "GridConfig",
    "Layer",
    "LineList",
    "LteResult",
    "ModelConfig",
    "PreparedModel",
    "SpeciesConfig",
    "Telescope",
    "component_opacity",
    "compute_spectrum",
    "convert_tmb",
    "radiative_transfer",
]
