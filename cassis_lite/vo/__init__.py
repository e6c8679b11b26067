"""Virtual Observatory exchange: VOTable and FITS exports, SLAP 1.0 (server and client), the
in-memory share store behind ``cassis-lite serve``'s SAMP route, and the ATOMIS search of the ALMA
archive (ObsCore over TAP). Pure standard library + NumPy, as the rest of the core: the browser
runs the same code (network calls are the caller's: urllib in the CLI, ``fetch`` in the page).

- :mod:`~cassis_lite.vo.votable_writer`, :mod:`~cassis_lite.vo.tables`, :mod:`~cassis_lite.vo.exports`:
  spectrum, model and line table as VOTable / FITS with units, UCDs and IVOA utypes;
- :mod:`~cassis_lite.vo.votable_read`, :mod:`~cassis_lite.vo.linelist`: tables and line lists back;
- :mod:`~cassis_lite.vo.slap`: SLAP 1.0 queryData answered from a ``LineDatabase``; query URLs
  and answers of any SLAP service;
- :mod:`~cassis_lite.vo.share`: bytes held for a limited time, for SAMP recipients to fetch;
- :mod:`~cassis_lite.vo.obscore`, :mod:`~cassis_lite.vo.atomis`: ALMA ``frequency_support``,
  ADQL, coverage of lines by observations.

docs/vo.md describes the protocols and their limits.
"""
