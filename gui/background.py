"""Run a slow function (a file scan, a Parquet page read) off the GUI thread, or a
quick one a little later in the GUI thread.

The result comes back as a queued signal, so the callback runs in the GUI thread;
it is dropped if the widget that asked has been deleted meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal

__all__ = ["call_later", "run_in_background"]


class _Relay(QObject):
    """Carries one result from a worker thread to the GUI thread."""

    delivered = pyqtSignal(object, object)


_pending: set[_Relay] = set()  # relays alive until their result is delivered


def run_in_background(
    owner: QObject,
    work: Callable[[], Any],
    on_result: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> None:
    """Run ``work()`` in a daemon thread; call ``on_result`` or ``on_error`` in the GUI thread.

    Must be called from the GUI thread (the relay lives there). Nothing is called once
    ``owner`` is deleted.
    """
    relay = _Relay()
    _pending.add(relay)

    def deliver(result: Any, error: BaseException | None) -> None:
        _pending.discard(relay)
        relay.deleteLater()
        if sip.isdeleted(owner):
            return
        if error is None:
            on_result(result)
        else:
            on_error(error)

    relay.delivered.connect(deliver, Qt.ConnectionType.QueuedConnection)

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:
            relay.delivered.emit(None, exc)
        else:
            relay.delivered.emit(result, None)

    threading.Thread(target=run, name="segycore-gui-background", daemon=True).start()


def call_later(owner: QObject, delay_ms: int, work: Callable[[], Any]) -> None:
    """Run ``work()`` in the GUI thread after ``delay_ms`` (other timers and paints run
    first), unless ``owner`` has been deleted by then."""

    def run() -> None:
        if not sip.isdeleted(owner):
            work()

    QTimer.singleShot(delay_ms, run)
