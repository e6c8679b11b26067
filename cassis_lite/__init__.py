"""CASSIS lite: spectrum viewer, line database and LTE modelling (CASSIS conventions).

The core (everything here except ``cassis_lite.app``) is pure NumPy and runs unchanged in
CPython and in Pyodide; the app holds UI state and views only.
"""

__version__ = "0.1.0"
