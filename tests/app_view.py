"""The app's view built as the worker builds it, under CPython (no browser): the first sample open,
every widget and model made (as the page has them), the analysis cards added."""

from __future__ import annotations

from bokeh.document import Document

from cassis_lite.app.view import CassisView
from paths import SAMPLES

LIS = "I16293_Synthetic_CO.lis"


def booted_view(fetch_url=None, sample: str = LIS) -> CassisView:
    """``fetch_url(url, body=None, content_type=None)``: what the worker's fetch does."""
    v = CassisView(samples={sample: (SAMPLES / sample).read_bytes()}, fetch_url=fetch_url)
    v.open_sample(sample)
    v.layout.get_root(Document())
    v.add_analysis()
    return v
