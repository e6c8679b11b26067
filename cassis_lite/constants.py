"""Physical constants in SI units (CODATA 2018, exact where the SI defines them), and the
numerical constants of Gaussian profiles and angles used throughout the core."""

import math

H_PLANCK = 6.62607015e-34  # J s
K_BOLTZMANN = 1.380649e-23  # J / K
C_LIGHT = 299_792_458.0  # m / s
C_LIGHT_KMS = C_LIGHT / 1e3  # km / s
T_CMB = 2.73  # K, CASSIS's default cosmic background temperature
HK_MHZ = H_PLANCK * 1e6 / K_BOLTZMANN  # h/k for nu in MHz, K per MHz
CM1_TO_K = H_PLANCK * C_LIGHT * 100.0 / K_BOLTZMANN  # 1 cm^-1 in K (1.4387769 K)
CM1_TO_MHZ = C_LIGHT * 100.0 / 1e6  # 1 cm^-1 in MHz (29979.2458)

#: sigma = FWHM * FWHM_TO_SIGMA for a Gaussian: 1 / (2 sqrt(2 ln 2))
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: integral of a unit-peak Gaussian over its FWHM: sqrt(pi / (4 ln 2)) = 1.0645 (RADEX's flux factor)
GAUSS_AREA = math.sqrt(math.pi / (4.0 * math.log(2.0)))
#: one arcsecond in radians
ARCSEC_RAD = math.pi / (180.0 * 3600.0)

#: classical electron radius r_e = e^2 / (4 pi eps0 m_e c^2), m (CODATA 2018)
ELECTRON_RADIUS = 2.8179403262e-15
#: pi e^2 / (m_e c^2) in Gaussian units = pi r_e, m: weak-line equivalent width W = pi r_e N f lambda^2
PI_E2_MC2 = math.pi * ELECTRON_RADIUS
#: pi e^2 / (m_e c) in Gaussian units = pi r_e c, m^2 s^-1 (0.026540 cm^2 s^-1): integrated line
#: absorption cross-section per unit frequency of an oscillator strength f = 1
PI_E2_MC = PI_E2_MC2 * C_LIGHT
