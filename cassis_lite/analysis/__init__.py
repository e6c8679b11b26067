"""Analyses of a spectrum: features and noise, line identification, v_lsr / redshift search,
rotational diagram, and the request layer shared by the command line and the app.

Low level (plain arrays, in the astronomer's units): :mod:`~cassis_lite.analysis.features`,
:mod:`~cassis_lite.analysis.identify`, :mod:`~cassis_lite.analysis.vlsr`,
:mod:`~cassis_lite.analysis.rotdiagram`. On a :class:`~cassis_lite.spectrum.Spectrum`, with one
validated options object per analysis: :mod:`~cassis_lite.analysis.requests`.
"""
