"""Non-LTE line intensities with RADEX's escape-probability method, vectorised over models.

- :mod:`~cassis_lite.radex.data`: :class:`CollisionData`, the levels, lines and collision rates
  of a species (from the line database or a LAMDA file);
- :mod:`~cassis_lite.radex.escape`: escape probabilities of the sphere, LVG and slab geometries;
- :mod:`~cassis_lite.radex.collisions`: partner densities (ortho/para H2) and collision rates;
- :mod:`~cassis_lite.radex.solver`: :func:`solve`, the statistical equilibrium of a batch of models;
- :mod:`~cassis_lite.radex.ratios`: chi-square maps of line ratios over (n, T_kin) grids.

References: van der Tak et al. 2007, A&A 468, 627 (RADEX); Schoier et al. 2005, A&A 432, 369
(LAMDA).
"""

from cassis_lite.errors import RadexError
from cassis_lite.radex.data import CollisionData, CollisionPartner, partner_name
from cassis_lite.radex.escape import GEOMETRIES, escape_probability
from cassis_lite.radex.ratios import RatioMap, ratio_chi2_map
from cassis_lite.radex.solver import RadexResult, solve

__all__ = ["GEOMETRIES", "CollisionData", "CollisionPartner", "RadexError", "RadexResult", "RatioMap",
           "escape_probability", "partner_name", "ratio_chi2_map", "solve"]
