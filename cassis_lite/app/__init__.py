"""The Panel/Bokeh app: UI state and views only; every number comes from the core."""
