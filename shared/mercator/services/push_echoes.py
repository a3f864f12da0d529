"""Telling Mercator's own product writes from changes made in the store.

Catalog push keeps the store's updated-at of every product it writes (``PushLedger.save_echo``).
When that write comes back, by the store's product webhook or its next listing, its change event
carries an updated-at no newer than the one kept: it is Mercator's echo, and fires nothing (no
trigger, no workflow, no bus event). A merchant's edit in the store afterwards is newer, and fires
as usual. The record itself is still written: the records table holds what the store holds.
"""

from __future__ import annotations

from mercator.domain.messages import ChangeEvent
from mercator.mapping.dates import parse_datetime
from mercator.services.push_ports import EchoLedger

PRODUCT = "core:product"


class PushEchoes:
    def __init__(self, ledger: EchoLedger) -> None:
        self.ledger = ledger

    def is_echo(self, event: ChangeEvent) -> bool:
        """Whether ``event`` is a store's product as Mercator last wrote it (or older)."""
        if event.content_type != PRODUCT or event.change == "deleted":
            return False
        updated = event.record.get("updatedAt")
        if not isinstance(updated, str):
            return False
        until = self.ledger.echo_until(event.integration_id, event.code)
        if until is None:
            return False
        try:
            return parse_datetime(updated) <= until
        except ValueError:
            return False
