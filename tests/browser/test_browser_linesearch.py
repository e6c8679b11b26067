"""The Line search card used like a person on the real site's full catalogue (site/db/full.db,
read by HTTP ranges), in headless Chromium at the three viewports: open the CH3CN sample, choose
the full catalogue, type a species, pick a variant, set the range observed at a v_lsr, search,
sort by a column, export CSV through the download, click a row (the line shown in the plot).
Every answer is compared with the same search in CPython on the same file
(cassis_lite.linedb.search, what ``cassis-lite lines`` runs)."""

from __future__ import annotations

import re

import pytest

from conftest import VIEWPORTS, close_app, new_app, wait_for

SAMPLE = "41505_28502_147_220GHz.txt"
VLSR = 3.0
RANGE_GHZ = ("220.58", "220.76")
DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"


@pytest.fixture(scope="module")
def full_db(site_dir):
    path = site_dir / "db" / "full.db"
    if not path.is_file():
        pytest.fail(f"the built site has no {path} (make site)")
    return path


def cpython_search(path, **kw):
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.linedb.search import search_lines

    with LineDatabase(path, immutable=True) as db:
        return search_lines(db, **kw)


def fill(page, label, value):
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


GRID_HEADER = "Obs. freq"  # a column only the line-search table has: how the tests find its grid


def column_cells(page, index: int) -> list[str]:
    """The text of column ``index`` of the line-search table, in the order the rows are drawn."""
    return page.evaluate("""([i, title]) => {
        const headers = [];
        const walk = (root) => { root.querySelectorAll('*').forEach((el) => {
            if (el.classList && el.classList.contains('slick-header-columns')) headers.push(el);
            if (el.shadowRoot) walk(el.shadowRoot); }); };
        walk(document);
        // this card's grid: the one with an observed-frequency column (SlickGrid marks its container
        // with a slickgrid_<uid> class; columns scrolled out of view are not drawn)
        const header = headers.find((h) => h.textContent.includes(title) && h.getBoundingClientRect().width > 0);
        if (!header) return [];
        const grid = header.closest('[class*="slickgrid_"]');
        const rows = [...grid.querySelectorAll('.slick-row')].filter((r) => r.getBoundingClientRect().width > 0);
        rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        return rows.map((r) => (r.querySelector('.slick-cell.l' + i) || {}).innerText);
    }""", [index, GRID_HEADER])


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_line_search_like_a_person(browser, base_url, full_db, viewport, tmp_path):
    from cassis_lite.vo import exports

    app, context = new_app(browser, base_url, viewport=VIEWPORTS[viewport])
    page = app.page
    try:
        # the CH3CN sample, then the full catalogue in the Lines card's selector
        page.get_by_label("Spectrum", exact=True).select_option(SAMPLE)
        wait_for(lambda: app.api("getState")["spectrum"], timeout=60, what="the sample open")
        wait_for(lambda: "full" in app.api("getState")["database"]["available"], timeout=60,
                 what="the full catalogue offered")
        app.open_tab("Lines")
        select = page.locator("select").filter(has=page.locator("option", has_text=re.compile("^bundled")))
        label = next(o for o in select.first.locator("option").all_inner_texts() if o.startswith("full catalogue"))
        select.first.select_option(label=label)
        wait_for(lambda: app.api("getState")["database"]["name"] == "full", timeout=90, what="the full catalogue")
        wait_for(lambda: "Splatalogue" in app.text(".cl-line-citations") or "LAMDA" in app.text(".cl-line-citations"),
                 timeout=30, what="the Lines card's citations")
        app.screenshot(f"linesearch-0-lines-citations-{viewport}.png")

        app.open_tab("Line search")
        species = page.get_by_label("Species: name, formula fragment or tag", exact=True)
        species.wait_for(timeout=30_000)
        species.click()
        species.press_sequentially("CH3CN", delay=60)
        variants = page.get_by_label("Variants (none picked: all listed)", exact=True)
        wait_for(lambda: {"CH3CN v8=1", "(13)CH3CN", "CH3(13)CN"} <= set(variants.evaluate(
            "(el) => Array.from(el.options).map((o) => o.value)")), timeout=30, what="the CH3CN variants listed")
        listed = variants.evaluate("(el) => Array.from(el.options).map((o) => o.value)")
        assert listed[0] == "CH3CN" and "CH3NC" not in listed
        variants.select_option(["CH3CN"])
        fill(page, "from", RANGE_GHZ[0])
        fill(page, "to", RANGE_GHZ[1])
        page.get_by_role("button", name="observed", exact=True).click()
        fill(page, "source v_lsr (km/s)", str(VLSR))
        app.screenshot(f"linesearch-1-form-{viewport}.png")
        page.get_by_role("button", name="Search", exact=True).click()
        wait_for(lambda: "lines, rest" in app.text(".cl-search-count"), timeout=60, what="the search's answer")

        ref = cpython_search(full_db, fmin=float(RANGE_GHZ[0]), fmax=float(RANGE_GHZ[1]), unit="GHz",
                             frame="observed", vlsr_kms=VLSR, species=["CH3CN"])
        assert len(ref) >= 6
        assert app.text(".cl-search-count").startswith(f"{len(ref)} lines")
        shown = app.bokeh_data("line_search_source", "freq_mhz")
        assert shown == [float(f) for f in ref.transitions.freq_mhz]
        obs = app.bokeh_data("line_search_source", "freq_obs_mhz")
        assert obs == pytest.approx([float(f) * (1 - VLSR / 299792.458) for f in ref.transitions.freq_mhz],
                                    rel=1e-12)
        citations = app.text(".cl-search-citations")
        assert "please cite" in citations and all(c["database"] in citations for c in ref.citations)
        page.locator(".cl-search-citations summary").first.click()  # the references, opened
        wait_for(lambda: all(c["citation"][:40] in app.text(".cl-search-citations") for c in ref.citations),
                 timeout=10, what="the citations")
        app.screenshot(f"linesearch-2-results-{viewport}.png")

        # sort by E_up: a click on its header (twice: descending)
        header = page.locator(".slick-header-columns").filter(has_text="S mu^2 (D^2)").locator(
            ".slick-header-column").filter(has_text=re.compile(r"^E_up \(K\)$")).first
        header.click(position={"x": 8, "y": 8})  # its left end: on a narrow card the rest is scrolled out
        wait_for(lambda: column_cells(page, 3) and [float(x) for x in column_cells(page, 3)] ==
                 sorted(float(x) for x in column_cells(page, 3)), timeout=30, what="sorted by E_up")
        header.click(position={"x": 8, "y": 8})
        wait_for(lambda: [float(x) for x in column_cells(page, 3)] ==
                 sorted((float(x) for x in column_cells(page, 3)), reverse=True), timeout=30, what="E_up descending")
        eups = [float(x) for x in column_cells(page, 3)]
        assert eups == pytest.approx(sorted(ref.transitions.eup_k, reverse=True)[:len(eups)], abs=0.006)
        app.screenshot(f"linesearch-3-sorted-{viewport}.png")

        # export CSV: the bytes of the command line's writer for the same search
        button = page.locator(".cl-search-export").get_by_role("button", name="CSV", exact=True)
        button.scroll_into_view_if_needed()
        with page.expect_download(timeout=60_000) as info:
            button.click()
        assert info.value.suggested_filename == "cassis_lite_line_search.csv"
        saved = tmp_path / "search.csv"
        info.value.save_as(saved)
        assert saved.read_bytes() == exports.export("lines", ref.transitions, "csv")

        # a click on the row of CH3CN 12_0-11_0 (in the spectrum's 220 GHz window): the line in the plot
        grid = page.locator('[class*="slickgrid_"]').filter(has=page.locator(".slick-header-column",
                                                                            has_text=GRID_HEADER))
        row = grid.locator(".slick-row").filter(has_text="220747.2690")
        cell = row.first.locator(".slick-cell.l1")
        rest = float(cell.inner_text())
        cell.click()
        wait_for(lambda: "Shown in the plot" in app.text(".cl-search-line"), timeout=30, what="the row's line shown")
        assert f"{rest:.4f}" in app.text(".cl-search-line")
        marker = page.evaluate(f"""() => {{ const m = {DOC}.get_model_by_name("line_search_marker");
                                              return [m.visible, m.location]; }}""")
        x_range = page.evaluate(f"""() => {{ const p = {DOC}.get_model_by_name("spectrum_plot");
                                              return [p.x_range.start, p.x_range.end]; }}""")
        assert marker[0] and min(x_range) < marker[1] < max(x_range)
        page.locator(".cl-search-line").first.scroll_into_view_if_needed()
        app.screenshot(f"linesearch-4-row-in-plot-{viewport}.png")
        page.evaluate("window.scrollTo(0, 0)")
        app.screenshot(f"linesearch-5-plot-{viewport}.png")
        assert not [e for e in app.errors if "Error" in e], app.errors[:3]
    finally:
        close_app(app, context, base_url)
