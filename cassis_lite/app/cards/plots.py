"""Small Bokeh plots of the cards (built from models: ``figure()`` would import pandas)."""

from __future__ import annotations

from bokeh.models import Grid, LinearAxis, Plot, Range1d


def small_plot(name: str, x_label: str, y_label: str, height: int = 220) -> Plot:
    """A plot with explicit ranges (the card sets them with its data: no "initial range" guess)."""
    p = Plot(height=height, sizing_mode="stretch_width", x_range=Range1d(0, 1), y_range=Range1d(0, 1), name=name,
             min_border_left=50, toolbar_location=None)
    xaxis, yaxis = LinearAxis(axis_label=x_label), LinearAxis(axis_label=y_label)
    p.add_layout(xaxis, "below")
    p.add_layout(yaxis, "left")
    p.add_layout(Grid(dimension=0, ticker=xaxis.ticker, grid_line_alpha=0.3))
    p.add_layout(Grid(dimension=1, ticker=yaxis.ticker, grid_line_alpha=0.3))
    return p


def fit_range(rng: Range1d, values, pad: float = 0.08) -> None:
    """Set ``rng`` to the finite span of ``values`` with a margin."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return
    lo, hi = float(v.min()), float(v.max())
    d = pad * (hi - lo or abs(hi) or 1.0)
    rng.update(start=lo - d, end=hi + d)
