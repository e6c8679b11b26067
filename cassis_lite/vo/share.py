"""Bytes held in memory for a limited time under an unguessable token: what ``cassis-lite serve``
offers a page so that other SAMP applications can fetch by URL the data it sends them (blob: URLs
are readable only inside the page). See docs/vo.md, "SAMP".

Limits: each item at most ``max_item_bytes``, all items together at most ``max_total_bytes``
(the items closest to expiry are dropped first to make room), each kept ``ttl_s`` seconds. Only
data media types are accepted (no HTML, no script): the server sends them with ``nosniff`` and
a sandboxing Content-Security-Policy as well.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from cassis_lite.errors import CassisError

#: media types a page may share (what SAMP messages carry: VOTable, FITS, CSV/text, JSON)
ALLOWED_TYPES = ("application/x-votable+xml", "text/xml", "application/xml", "application/fits",
                 "image/fits", "text/csv", "text/plain", "application/json", "application/octet-stream")


class ShareError(CassisError):
    """A share refused: too large, a media type that is not data, an unknown or expired token."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Item:
    data: bytes
    content_type: str
    expires: float
    name: str = ""


def media_type(content_type: str | None) -> str:
    """The allowed media type of a Content-Type header (parameters dropped), or ShareError."""
    base = (content_type or "application/octet-stream").split(";", 1)[0].strip().lower()
    if base not in ALLOWED_TYPES:
        raise ShareError(f"media type {base!r} cannot be shared (allowed: {', '.join(ALLOWED_TYPES)})", 415)
    return base


class ShareStore:
    """Thread-safe store of shared items. ``clock`` (seconds) is replaceable for tests."""

    def __init__(self, ttl_s: float = 1800.0, max_item_bytes: int = 64 * 2**20,
                 max_total_bytes: int = 256 * 2**20, clock=time.monotonic):
        self.ttl_s = float(ttl_s)
        self.max_item_bytes = int(max_item_bytes)
        self.max_total_bytes = int(max_total_bytes)
        self._clock = clock
        self._items: dict[str, Item] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for token in [t for t, it in self._items.items() if it.expires <= now]:
            del self._items[token]

    def total_bytes(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return sum(len(it.data) for it in self._items.values())

    def check_size(self, size: int) -> None:
        """Refuse (413) an item of ``size`` bytes before it is read."""
        limit = min(self.max_item_bytes, self.max_total_bytes)
        if size > limit:
            raise ShareError(f"{size} bytes is over the share limit of {limit} bytes", 413)

    def put(self, data: bytes, content_type: str | None, name: str = "") -> tuple[str, float]:
        """Store ``data``; returns (token, seconds it will be kept)."""
        self.check_size(len(data))
        ctype = media_type(content_type)
        now = self._clock()
        with self._lock:
            self._expire(now)
            total = sum(len(it.data) for it in self._items.values())
            for token in sorted(self._items, key=lambda t: self._items[t].expires):
                if total + len(data) <= self.max_total_bytes:
                    break
                total -= len(self._items.pop(token).data)
            token = secrets.token_urlsafe(18)
            self._items[token] = Item(bytes(data), ctype, now + self.ttl_s, name)
        return token, self.ttl_s

    def get(self, token: str) -> Item:
        with self._lock:
            self._expire(self._clock())
            item = self._items.get(token)
        if item is None:
            raise ShareError("no shared data under this address (expired, or never shared)", 404)
        return item
