"""Text from outside is data: no file name, header value, URL parameter or message runs script.

Each test puts an HTML/script payload where a user or another page controls text (URL
parameters, a file name through the file picker and the API, a FITS ``OBJECT`` card, a VOTable
field name and unit, an ASCII header, a species typed in the line filter, postMessage calls from
an embedding page) and fails if the payload's handler ran, or if any element of the page (shadow
roots included) carries an event-handler attribute, an inline script or an image from another
origin. Where the app shows the text, the test also checks that it is shown, as text: the
payload reached the page and was escaped. The site's Content-Security-Policy is checked too: the
app starts from the snapshot and by importing without any violation.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import numpy as np
import pytest

from conftest import new_app, off_origin
from paths import SAMPLES

PAYLOAD = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SVG = '<svg onload="window.__xss=(window.__xss||0)+1"></svg>'
MARKDOWN = "![p](http://evil.example/p.png)"
CSP_WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")

SCAN_JS = """() => {
  const bad = [];
  const texts = [];
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      for (const a of el.attributes) {
        if (a.name.toLowerCase().startsWith('on')) bad.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 60));
      }
      if (el.tagName === 'SCRIPT' && !el.getAttribute('src')) bad.push('inline script: ' + el.textContent.slice(0, 60));
      if ((el.tagName === 'IMG' || el.tagName === 'image') && el.getAttribute('src')) bad.push('img ' + el.getAttribute('src'));
      if (el.tagName === 'svg' && el.closest && el.closest('.cl-message, .cl-card-error, .cl-info')) bad.push('svg in a message');
      if (el.shadowRoot) visit(el.shadowRoot);
    }
    if (root.textContent) texts.push(root.textContent);
  };
  visit(document);
  return {bad, xss: window.__xss || 0, text: texts.join(' '), csp: window.__csp || []};
}"""


def scan(app):
    """(bad elements, handler runs, all text of the page, CSP violations) after a moment."""
    app.page.wait_for_timeout(600)
    return app.page.evaluate(SCAN_JS)


def assert_clean(app, shown: str | None = None):
    result = scan(app)
    assert result["xss"] == 0, "an injected handler ran"
    assert result["bad"] == [], result["bad"][:5]
    assert result["csp"] == [], result["csp"][:5]
    assert off_origin(app.requests, app.base) == []
    if shown is not None:
        assert shown in result["text"], f"{shown!r} is not shown as text"
    return result


@pytest.fixture(scope="module")
def app(browser, base_url):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(CSP_WATCH)
    from conftest import AppPage

    page = AppPage(context.new_page(), base_url)
    assert page.goto("index.html") == "ready", page.errors[-3:]
    yield page
    context.close()


def message_text(app) -> str:
    return app.text(".cl-message")


# --------------------------------------------------------------------------- the policy

@pytest.mark.parametrize("path", ["index.html", "index.html?nosnapshot"])
def test_app_starts_under_its_content_security_policy(browser, base_url, path):
    context = browser.new_context()
    context.add_init_script(CSP_WATCH)
    from conftest import AppPage

    page = AppPage(context.new_page(), base_url)
    response = page.page.goto(base_url + path)
    header = response.headers.get("content-security-policy", "")
    assert "script-src 'self';" in header and "unsafe-inline" not in header.split("script-src")[1].split(";")[0]
    meta = page.page.locator("meta[http-equiv='Content-Security-Policy']").get_attribute("content")
    assert meta == header
    page.page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'",
                                timeout=180_000)
    assert page.page.evaluate("document.documentElement.dataset.cassisState") == "ready"
    page.page.wait_for_timeout(1500)  # the analysis cards arrive after ready
    assert page.page.evaluate("window.__csp") == []
    # an inline script a payload would bring is refused by the browser itself
    ran = page.page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__inline = 1'; document.body.appendChild(s); return window.__inline || 0; }""")
    assert ran == 0
    context.close()


# --------------------------------------------------------------------------- URL parameters

def test_url_parameter_spectrum_name_is_text(browser, base_url):
    app, context = new_app(browser, base_url, "index.html?spectrum=samples/" + quote(PAYLOAD))
    assert_clean(app, shown=PAYLOAD)
    context.close()


def test_url_parameters_species_lines_sample_tex_are_text(browser, base_url):
    query = "&".join(f"{k}={quote(v)}" for k, v in
                     (("sample", PAYLOAD), ("lines", SVG), ("species", MARKDOWN), ("tex", PAYLOAD)))
    app, context = new_app(browser, base_url, "index.html?" + query)
    assert_clean(app)
    context.close()


# --------------------------------------------------------------------------- files

def test_file_name_from_the_api_is_text(app):
    data = (SAMPLES / "I16293_Synthetic_CO.lis").read_bytes()
    app.page.evaluate("([bytes, name]) => window.cassisLite.loadSpectrum(new Uint8Array(bytes).buffer, name)",
                      [list(data), PAYLOAD + ".lis"])
    assert_clean(app, shown=PAYLOAD + ".lis")


def test_file_name_from_the_file_picker_is_text(app):
    app.page.set_input_files("#cl-file", files=[{"name": SVG + ".txt", "mimeType": "text/plain",
                                                 "buffer": b"\x89PNG\r\n\x1a\n" + bytes(200)}])
    app.page.wait_for_function("() => document.getElementById('cl-drop-status').textContent.includes('PNG')",
                               timeout=30_000)
    assert_clean(app, shown=SVG + ".txt")


def test_fits_object_card_is_text(app):
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.sin(np.arange(256) / 7.0).astype(">f4"))
    for key, value in (("CTYPE1", "FREQ"), ("CUNIT1", "Hz"), ("CRVAL1", 230.5e9), ("CDELT1", 1e6),
                       ("CRPIX1", 1.0), ("BUNIT", "K"), ("OBJECT", PAYLOAD), ("TELESCOP", MARKDOWN)):
        hdu.header[key] = value
    buf = io.BytesIO()
    hdu.writeto(buf)
    app.page.evaluate("([bytes]) => window.cassisLite.loadSpectrum(new Uint8Array(bytes).buffer, 'object.fits')",
                      [list(buf.getvalue())])
    assert_clean(app, shown=PAYLOAD)
    assert MARKDOWN in scan(app)["text"]


def test_votable_field_name_and_unit_are_text(app):
    esc = PAYLOAD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    rows = "".join(f"<TR><TD>{230000 + i * 0.5}</TD><TD>{np.sin(i / 5):.4f}</TD></TR>" for i in range(64))
    votable = f"""<?xml version="1.0"?>
<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE name="{esc}">
<FIELD name="frequency" datatype="double" unit="MHz" ucd="em.freq"/>
<FIELD name="{esc}" datatype="double" unit="{esc}" ucd="phot.flux.density"/>
<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"""
    app.page.evaluate("([text]) => window.cassisLite.loadSpectrum(new TextEncoder().encode(text).buffer, 'v.xml')",
                      [votable])
    assert app.api("getState")["spectrum"]["y_unit"] == PAYLOAD
    assert_clean(app, shown=PAYLOAD)


def test_ascii_header_unit_is_text(app):
    text = (SAMPLES / "41505_28502_147_220GHz.txt").read_text().replace("#yLabel: [Kelvin] Mean",
                                                                        f"#yLabel: [{PAYLOAD}] Mean", 1)
    text = text.replace("#title: Spectral profile", f"#title: {SVG}", 1)
    app.page.evaluate("([text]) => window.cassisLite.loadSpectrum(new TextEncoder().encode(text).buffer, 'p.txt')",
                      [text])
    assert_clean(app, shown=PAYLOAD)


# --------------------------------------------------------------------------- typed text

def test_species_typed_in_the_line_filter_is_text(app):
    field = app.page.get_by_label("Species (comma separated, empty = all)")
    field.fill(PAYLOAD)
    field.press("Enter")
    app.page.locator(".cl-card-error >> visible=true").first.wait_for(timeout=30_000)  # the card's message
    assert_clean(app, shown=PAYLOAD)
    field.fill("")
    field.press("Enter")


# --------------------------------------------------------------------------- another page

def test_postmessage_calls_from_an_embedding_page_are_data(browser, base_url):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base_url + "embed.html")
    page.wait_for_function("""() => { const f = document.getElementById('app').contentDocument;
        return f && f.documentElement.dataset.cassisState === 'ready'; }""", timeout=180_000)
    call = """([method, args]) => new Promise((resolve) => {
        const frame = document.getElementById('app');
        const id = Math.random();
        const listen = (e) => {
            if (e.data && e.data.id === id) { window.removeEventListener('message', listen); resolve(e.data); }
        };
        window.addEventListener('message', listen);
        frame.contentWindow.postMessage({cassisLite: 1, id, method, args}, location.origin);
    })"""
    model = {"telescope": {"name": "hifi"}, "components": [{"name": PAYLOAD, "tex_k": 80, "fwhm_kms": 4,
             "vlsr_kms": 3.8, "size_arcsec": 30, "species": [{"species": "CO", "ntot_cm2": 1e16}]}]}
    reply = page.evaluate(call, ["setModel", [model]])
    assert reply["ok"], reply
    reply = page.evaluate(call, [PAYLOAD, []])
    assert not reply["ok"] and PAYLOAD in reply["error"]
    reply = page.evaluate(call, ["getLines", [{"species": [SVG]}]])
    assert not reply["ok"]
    inner = page.frames[1]
    inner.locator(".bk-tab").filter(has_text="Model").first.click()  # the model table is drawn when opened
    inner.get_by_text(f"Component {PAYLOAD}").first.wait_for(timeout=30_000)
    result = inner.evaluate(SCAN_JS)
    assert result["xss"] == 0 and result["bad"] == [] and result["csp"] == []
    assert f"Component {PAYLOAD}" in result["text"]
    assert page.evaluate("window.__xss || 0") == 0
    assert off_origin(requests, base_url) == []
    context.close()
