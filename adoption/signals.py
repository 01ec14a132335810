"""Signals ``adoption`` sends so that feature packages can react without ``adoption`` importing them.

Receivers connect in their package's ``init_app`` with the app as sender (``sender=app``), like
``adoption.roster.roster_imported``.
"""
from __future__ import annotations

from blinker import Namespace
from flask import current_app

_signals = Namespace()

#: Sent after an import of data has been **committed** and accepted something new: with the app
#: as sender, ``kind=`` what was imported (``"outcomes"``: ``POST /api/v1/outcomes`` or
#: ``flask import-outcomes``; ``"events"``: an event file, uploaded or ``flask ingest-events``)
#: and ``accepted=`` how many items were taken. Receivers must not write in the sender's
#: transaction (it is over): they start their own work, e.g. a background job. Not sent per
#: ``POST /api/v1/events`` request, which arrive too often to react to each one.
data_imported = _signals.signal("data-imported")

IMPORT_KINDS = ("outcomes", "events")


def announce_import(kind: str, accepted: int) -> None:
    """Send ``data_imported`` for ``accepted`` new items of ``kind``; nothing when none were new."""
    if kind not in IMPORT_KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    if accepted > 0:
        data_imported.send(current_app._get_current_object(), kind=kind, accepted=accepted)
