"""CASSIS ASCII exports.

* ``.lis``: ``//`` header lines (``// number of line : 4000``, ``// vlsr : 3.8``), a names row
  ``FreqLsb VeloLsb FreqUsb VeloUsb Intensity DeltaF DeltaV``, frequencies in MHz, velocities
  in km/s, intensity in K. Several windows may follow one another in any frequency order.
  ``FreqUsb`` is 0 for single-sideband data. The velocity column is
  VeloLsb = v_lsr + c (1 - FreqLsb / nu_0), so each window's rest frequency is recovered as
  nu_0 = FreqLsb / (1 - (VeloLsb - v_lsr) / c) and kept in ``meta['window_rest_freq_mhz']``.
* "Spectral profile": ``#title: Spectral profile``, ``#telescopes:`` with ``#  name: [fmin, fmax]``
  (MHz), ``#vlsr [km/s]: 3.0``, ``#xLabel: frequency [MHz]``, ``#yLabel: [Kelvin] Mean``, then
  two columns.
"""

from __future__ import annotations

import re

import numpy as np

from cassis_lite import units
from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.readers import ascii as asc
from cassis_lite.readers.registry import Reader, ReadError, register
from cassis_lite.spectrum import Spectrum, window_slices

LIS_COLUMNS = ("FreqLsb", "VeloLsb", "FreqUsb", "VeloUsb", "Intensity", "DeltaF", "DeltaV")


def _text_head(head: bytes) -> str:
    return head.decode("latin-1")


def sniff_lis(head: bytes, name: str) -> bool:
    text = _text_head(head)
    return "FreqLsb" in text and "Intensity" in text


def sniff_profile(head: bytes, name: str) -> bool:
    text = _text_head(head).lstrip()
    return text.startswith("#") and bool(re.search(r"^#\s*xLabel\s*:", text, re.M))


def read_lis(data, label: str, **_) -> Spectrum:
    text = asc.decode_text(data, label)
    comments, names, table = asc.read_table(text, label)
    kv = asc.parse_key_values(comments)
    if not names or "FreqLsb" not in names or "Intensity" not in names:
        raise ReadError(f"{label}: CASSIS .lis file without the FreqLsb and Intensity columns")
    col = {n: i for i, n in enumerate(names)}
    freq = table[:, col["FreqLsb"]]
    vlsr = asc._float(kv.get("vlsr", "")) or 0.0
    meta = {"header": kv, "columns": names}
    n_declared = asc._float(kv.get("number of line", ""))
    if n_declared is not None:
        meta["declared_n_lines"] = int(n_declared)
    if "FreqUsb" in col and np.any(table[:, col["FreqUsb"]] != 0):
        meta["dsb"] = True
        # per channel, in the spectrum's (ascending LSB frequency) order, as from_axis sorts them
        meta["freq_usb_mhz"] = table[np.argsort(freq, kind="stable"), col["FreqUsb"]]
    if "VeloLsb" in col and np.all(np.isfinite(freq)):
        velo = table[:, col["VeloLsb"]]
        rests = []
        for w in window_slices(freq):  # in file order
            with np.errstate(divide="ignore", invalid="ignore"):
                f0 = freq[w] / (1.0 - (velo[w] - vlsr) / C_LIGHT_KMS)
            rests.append((float(np.min(freq[w])), float(np.nanmedian(f0))))
        # in frequency order, as the spectrum's windows (Spectrum.windows())
        meta["window_rest_freq_mhz"] = [r for _, r in sorted(rests)]
    rest = meta.get("window_rest_freq_mhz", [None])
    sp = Spectrum.from_axis(freq, table[:, col["Intensity"]], x_unit="MHz",
                            rest_freq_mhz=rest[0] if len(rest) == 1 else None, y_unit="K",
                            vlsr_kms=vlsr, telescope=kv.get("telescope") or None, meta=meta,
                            name=label, format="cassis-lis")
    return sp


def read_profile(data, label: str, **_) -> Spectrum:
    text = asc.decode_text(data, label)
    comments, names, table = asc.read_table(text, label)
    kv = asc.parse_key_values(comments)
    telescopes = {}
    for c in comments:
        m = re.match(r"^\s*([\w.\-+ ]+?)\s*:\s*\[\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*\]\s*$", c)
        if m:
            telescopes[m.group(1)] = [float(m.group(2)), float(m.group(3))]
    xlabel = kv.get("xlabel", "frequency [MHz]")
    ylabel = kv.get("ylabel", "")
    xm = re.search(r"\[([^\]]+)\]", xlabel)
    x_unit = xm.group(1).strip() if xm else "MHz"
    ym = re.search(r"\[([^\]]+)\]", ylabel)
    y_unit = units.normalise_intensity_unit(ym.group(1)) if ym else ""
    vlsr = None
    for key, value in kv.items():
        if key.startswith("vlsr"):
            vlsr = asc._float(value)
            break
    if table.shape[1] < 2:
        raise ReadError(f"{label}: spectral profile with {table.shape[1]} column(s); expected 2")
    meta = {"header": {k: v for k, v in kv.items()}, "telescopes": telescopes,
            "title": kv.get("title"), "x_label": xlabel, "y_label": ylabel}
    xkind = xlabel.split("[")[0].strip().lower()
    rest = asc._float(kv.get("rest frequency", kv.get("restfreq", "")) or "")
    try:
        units.axis_unit_kind(x_unit)
    except units.UnitError:
        raise ReadError(f"{label}: unknown x unit {x_unit!r} in xLabel") from None
    if xkind.startswith("velo") and rest is None:
        raise ReadError(f"{label}: velocity axis but no rest frequency in the header")
    return Spectrum.from_axis(
        table[:, 0], table[:, 1], x_unit=x_unit, rest_freq_mhz=rest,
        uncertainty=table[:, 2] if table.shape[1] > 2 else None, y_unit=y_unit,
        vlsr_kms=vlsr or 0.0, telescope=next(iter(telescopes)) if len(telescopes) == 1 else None,
        meta=meta, name=label, format="cassis-profile")


register(Reader("cassis-lis", "CASSIS .lis spectrum (FreqLsb ... Intensity)", sniff_lis, read_lis, (".lis",), priority=30))
register(Reader("cassis-profile", "CASSIS 'Spectral profile' export", sniff_profile, read_profile, (".txt",), priority=31))
