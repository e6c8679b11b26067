"""The Model card's partition-function selector in the built site, on a phone (390 x 844): a
person picks "catalogue table (as CASSIS)" and the plotted model changes by the ratio of the two
Q(T) that CPython's core gives (optically thin lines scale as 1/Q); getState() says which."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import VIEWPORTS, close_app, new_app, wait_for

pytestmark = pytest.mark.browser

TEX_K = 10.0  # CO: the catalogue table's log-log interpolation is 0.16 % high at 10 K


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a[np.isfinite(a)]


def test_switching_the_partition_mode_in_the_model_card_rescales_the_model(browser, base_url, line_db):
    app, context = new_app(browser, base_url, viewport=VIEWPORTS["phone"])
    try:
        page = app.page
        model = app.api("getState")["model"]
        comp = model["components"][0]
        comp.update(tex_k=TEX_K)
        comp["species"][0].update(species="CO", ntot_cm2=1e12)  # optically thin
        app.api("setModel", model)
        state = app.api("getState")
        assert state["partition"] == "refined" and "partition" not in state["model"]
        wait_for(lambda: finite(app.bokeh_data("model_source", "y")).size > 0, what="the model drawn")
        refined = finite(app.bokeh_data("model_source", "y"))
        app.open_tab("Model")
        select = page.locator(".cl-model-partition select").first
        select.wait_for(timeout=30_000)
        select.scroll_into_view_if_needed()
        assert select.input_value() == "refined (~0.1 %)"
        app.screenshot("partition-01-phone-refined.png")
        select.select_option(label="catalogue table (as CASSIS)")  # the person picks CASSIS's convention
        wait_for(lambda: app.api("getState")["partition"] == "catalogue", what="the catalogue setting")
        wait_for(lambda: not np.array_equal(finite(app.bokeh_data("model_source", "y")), refined),
                 what="the model redrawn")
        catalogue = finite(app.bokeh_data("model_source", "y"))
        state = app.api("getState")
        assert state["model"]["partition"] == "catalogue"
        q_ref = line_db.partition_function("CO").q(TEX_K)
        q_cat = line_db.partition_function("CO", partition="catalogue").q(TEX_K)
        assert q_cat / q_ref - 1 > 1.5e-3
        peak = int(np.argmax(refined))
        assert refined[peak] > 0
        assert refined[peak] / catalogue[peak] == pytest.approx(q_cat / q_ref, rel=1e-5)
        app.screenshot("partition-02-phone-catalogue.png")
        # and back
        select.select_option(label="refined (~0.1 %)")
        wait_for(lambda: app.api("getState")["partition"] == "refined", what="the refined setting")
        wait_for(lambda: np.allclose(finite(app.bokeh_data("model_source", "y")), refined, rtol=1e-12, atol=0),
                 what="the refined model again")
        assert not app.errors, app.errors[:3]
    finally:
        close_app(app, context, base_url)
