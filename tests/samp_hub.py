"""A real SAMP hub and clients for tests (pyvo.samp, pyvo 1.9.1; astropy.samp is deprecated for it).

    from samp_hub import running_hub, samp_client, Inbox

    with running_hub(tmp_path, allowed_origins=[page_origin], web_port=0) as hub:
        receiver = samp_client(hub, "receiver")
        inbox = Inbox(receiver, ["table.load.votable"])
        ...
        message = inbox.wait("table.load.votable")

- :func:`running_hub`: a ``SAMPHubServer`` with the Web Profile on, its lock file in a test folder
  (never ``~/.samp``), no internet probe, and :class:`ConsentDialog` answering the Web Profile's
  registration requests: pages from ``allowed_origins`` are accepted, others refused (what a user
  would click). ``hub.dialog.requests`` records (application name, origin, accepted).
- For the browser (sampjs in the page): the Web Profile listens on ``http://localhost:21012``
  (``WEB_PROFILE_PORT``, fixed by the standard; sampjs connects there), so a browser test uses
  ``web_port=WEB_PROFILE_PORT`` and fails if another hub holds the port. The hub answers the
  page's XML-RPC POSTs with ``Access-Control-Allow-Origin: <the page's origin>`` (and the
  preflight, private-network header included); the page's Content-Security-Policy must allow
  ``connect-src http://localhost:21012`` (``cassis_lite.commands.serve.SAMP_HUB_ORIGINS``). A web
  client receives URLs through the hub's translator (``samp.url-translator`` in its registration
  answer) and offers data by URL: ``cassis-lite serve``'s ``POST /share`` then ``/share/<token>``.
- :func:`samp_client`: a registered ``SAMPIntegratedClient`` (standard profile); :class:`Inbox`
  records the notifications and calls it receives.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

WEB_PROFILE_PORT = 21012


def _samp():
    from pyvo import samp

    samp.conf.use_internet = False  # else the hub and clients probe http://google.com on start
    return samp


class ConsentDialog:
    """The Web Profile's consent: accept the registration of pages from ``allowed_origins``."""

    def __init__(self, allowed_origins=()):
        self.allowed = set(allowed_origins)
        self.requests: list[tuple[str, str, bool]] = []
        self.queue_request = None  # set by the hub
        self.queue_result = None

    def handle_queue(self) -> None:
        import queue

        if self.queue_request is None:
            return
        try:
            details, _client, origin = self.queue_request.get_nowait()
        except queue.Empty:
            return
        name = details if isinstance(details, str) else details.get("samp.name", "")
        ok = origin in self.allowed
        self.requests.append((name, origin, ok))
        self.queue_result.put(ok)


@contextlib.contextmanager
def running_hub(folder, allowed_origins=(), web_profile: bool = True, web_port: int = WEB_PROFILE_PORT):
    """A started hub (yielded); stopped on exit. ``web_port=0`` picks a free port (Python-only tests)."""
    import os

    samp = _samp()
    if "SAMP_HUB" in os.environ:
        pytest.fail("SAMP_HUB is set: the test hub would take over that lock file")
    dialog = ConsentDialog(allowed_origins)
    hub = samp.SAMPHubServer(addr="127.0.0.1", lockfile=str(folder / "samp-hub.lock"), web_profile=web_profile,
                             web_profile_dialog=dialog, web_port=web_port, label="cassis-lite tests")
    hub.start()
    hub.dialog = dialog
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            dialog.handle_queue()
            time.sleep(0.02)

    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()
    try:
        if web_profile and hub._web_profile_server is None:
            pytest.fail(f"the SAMP Web Profile port {web_port} is taken (another hub running?)")
        hub.web_url = f"http://localhost:{hub._web_port}/" if web_profile else None
        yield hub
    finally:
        stop.set()
        pumper.join(timeout=2)
        hub.stop()


def samp_client(hub, name: str):
    """A registered standard-profile client of ``hub`` (disconnect it when done)."""
    samp = _samp()
    client = samp.SAMPIntegratedClient(name=name, description=f"cassis-lite test client {name}", addr="127.0.0.1")
    client.connect(hub_params=hub.params)
    return client


class Inbox:
    """Records what ``client`` receives for ``mtypes`` (notifications and calls, replied OK)."""

    def __init__(self, client, mtypes):
        self.client = client
        self.messages: list[tuple[str, dict, str]] = []  # (mtype, params, sender id)
        self._event = threading.Condition()
        for mtype in mtypes:
            client.bind_receive_notification(mtype, self._notified)
            client.bind_receive_call(mtype, self._called)

    def _record(self, mtype, params, sender):
        with self._event:
            self.messages.append((mtype, params, sender))
            self._event.notify_all()

    def _notified(self, private_key, sender_id, mtype, params, extra):
        self._record(mtype, params, sender_id)

    def _called(self, private_key, sender_id, msg_id, mtype, params, extra):
        self._record(mtype, params, sender_id)
        self.client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

    def wait(self, mtype: str, timeout: float = 10.0) -> tuple[dict, str]:
        """(params, sender id) of the first ``mtype`` message received."""
        deadline = time.monotonic() + timeout
        with self._event:
            while True:
                for m, params, sender in self.messages:
                    if m == mtype:
                        return params, sender
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {mtype} message within {timeout} s (got {[m[0] for m in self.messages]})")
                self._event.wait(left)
