"""The app's state in a link: what ``Copy link`` puts in the URL fragment and what opening such a
link restores (spectrum by sample name or URL, model JSON, line filters, axes, velocity
reference, the range in view, the line database it was made with).

The fragment is ``#state=`` + base64url(zlib(JSON)) (no padding): links stay short enough for
mail and chat with a model of several components. The fragment never reaches a server. A link
holds no file content: a spectrum opened from a local file is left out (and the page says so).
Decoding is the only parser of the text; everything it yields is validated again by the state it
is applied to (``ModelConfig.from_dict``, ``LineFilters.from_dict``, the view's params).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from cassis_lite.errors import CassisError

VERSION = 1
PREFIX = "state="
#: a decoded state larger than this is refused (a model of many components is ~2 kB)
MAX_STATE_BYTES = 256 * 1024
KEYS = {"v", "spectrum", "model", "lines", "view", "database"}


class LinkError(CassisError):
    """A link whose state cannot be read."""


def encode_state(state: dict) -> str:
    """The fragment (without ``#``) for ``state``: ``state=`` + base64url(zlib(compact JSON))."""
    text = json.dumps({"v": VERSION, **state}, separators=(",", ":"), sort_keys=True, allow_nan=False)
    packed = zlib.compress(text.encode("utf-8"), 9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_state(fragment: str) -> dict | None:
    """The state of a link's fragment (with or without ``#``); None if the fragment holds none;
    :class:`LinkError` saying what is wrong with a damaged or foreign one."""
    frag = (fragment or "").lstrip("#")
    if not frag.startswith(PREFIX):
        return None
    body = frag[len(PREFIX):].strip()
    try:
        packed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_STATE_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise LinkError("the link's state is damaged (cut short or edited?): it was ignored") from None
    if len(raw) > MAX_STATE_BYTES or inflater.unconsumed_tail:
        raise LinkError(f"the link's state is over {MAX_STATE_BYTES // 1024} KiB: it was ignored")
    if not inflater.eof:
        raise LinkError("the link's state is damaged (cut short?): it was ignored")
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LinkError("the link's state is not valid JSON: it was ignored") from None
    if not isinstance(state, dict):
        raise LinkError("the link's state is not an object: it was ignored")
    if state.get("v") != VERSION:
        raise LinkError(f"the link was made by another version of CASSIS lite (state version "
                        f"{state.get('v')!r}, this one reads {VERSION}): it was ignored")
    unknown = set(state) - KEYS
    if unknown:
        raise LinkError(f"the link's state has unknown keys ({', '.join(sorted(map(str, unknown)))}): it was ignored")
    return state
