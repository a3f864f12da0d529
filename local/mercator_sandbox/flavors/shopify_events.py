"""Shopify's Event log: what the store records when its records are created or deleted.

Shopify keeps a log of what happened in a shop (``GET /admin/api/<version>/events.json``), and for a
deleted record it is the only trace left: the record itself answers 404 and no listing shows it. The
log here records, in store time, as the store changes:

* ``destroy`` for every deletion of a product, an order or a customer (``Store.delete``, the delete
  mutation faults, tests);
* ``create`` for a new product and ``confirmed`` for a new order, as in Shopify's documented samples,
  so that a reader has other verbs to filter out.

Abandoned checkouts (the sandbox's ``carts``) have no events in Shopify, so none are recorded for
them; updates are not logged either. Event ids grow with time, so the log is in id order and in
``created_at`` order at once. Shopify documents ``destroy`` events for products (and collections);
its docs do not spell out the wording of order and customer deletions, so those messages follow the
product's pattern (unverified).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mercator_sandbox.dataset import ChangeKind

# Shopify's event ids are large and grow with time; the sandbox's start here and count up.
FIRST_EVENT_ID = 98_700_000_001
AUTHOR = "Shopify"


@dataclass(frozen=True)
class EventTemplate:
    """How one kind of change reads in the log; ``{0}``, ``{1}`` are the arguments, ``{url}`` the
    subject's admin page."""

    subject_type: str
    verb: str
    arity: int  # how many of the subject's labels go into ``arguments``
    message: str
    description: str


TEMPLATES: Mapping[tuple[str, ChangeKind], EventTemplate] = {
    ("products", "created"): EventTemplate(
        "Product", "create", 1, 'Product was created: <a href="{url}">{0}</a>.', "Product was created: {0}."
    ),
    ("products", "deleted"): EventTemplate(
        "Product", "destroy", 1, "Product was deleted: {0}.", "Product was deleted: {0}."
    ),
    ("orders", "created"): EventTemplate(
        "Order",
        "confirmed",
        2,
        'Received new order <a href="{url}">{0}</a> by {1}.',
        "Received new order {0} by {1}.",
    ),
    ("orders", "deleted"): EventTemplate(
        "Order", "destroy", 1, "Order {0} was deleted.", "Order {0} was deleted."
    ),
    ("customers", "deleted"): EventTemplate(
        "Customer", "destroy", 1, "Customer was deleted: {0}.", "Customer was deleted: {0}."
    ),
}


@dataclass(frozen=True)
class ShopifyEvent:
    """One entry of the log."""

    id: int
    subject_id: int
    subject_type: str  # Product, Order, Customer
    verb: str  # destroy, create, confirmed
    created_at: int  # epoch seconds, store time
    arguments: tuple[str, ...]
    message: str
    description: str
    path: str  # the subject's admin path, e.g. /admin/products/632910392
    author: str = AUTHOR

    def as_json(self, zone: ZoneInfo) -> dict[str, Any]:
        """The event as the REST API answers it, its time in the shop's zone."""
        return {
            "id": self.id,
            "subject_id": self.subject_id,
            "created_at": datetime.fromtimestamp(self.created_at, zone).isoformat(),
            "subject_type": self.subject_type,
            "verb": self.verb,
            "arguments": list(self.arguments),
            "body": None,
            "message": self.message,
            "author": self.author,
            "description": self.description,
            "path": self.path,
        }


class EventLog:
    """The shop's events in the order they happened (which is also id order)."""

    def __init__(self, shop_domain: str) -> None:
        self._shop_domain = shop_domain
        self._events: list[ShopifyEvent] = []
        self._next_id = FIRST_EVENT_ID

    @property
    def events(self) -> tuple[ShopifyEvent, ...]:
        return tuple(self._events)

    @staticmethod
    def logs(resource: str, change: ChangeKind) -> bool:
        """Whether Shopify logs that kind of change of that resource."""
        return (resource, change) in TEMPLATES

    def record(
        self, resource: str, change: ChangeKind, subject_id: int, labels: tuple[str, ...], at: int
    ) -> ShopifyEvent | None:
        """Log the change if Shopify logs that kind of change for that resource; the event, or None."""
        template = TEMPLATES.get((resource, change))
        if template is None:
            return None
        path = f"/admin/{resource}/{subject_id}"
        arguments = labels[: template.arity]
        url = f"https://{self._shop_domain}{path}"
        event = ShopifyEvent(
            id=self._next_id,
            subject_id=subject_id,
            subject_type=template.subject_type,
            verb=template.verb,
            created_at=at,
            arguments=arguments,
            message=template.message.format(*arguments, url=url),
            description=template.description.format(*arguments),
            path=path,
        )
        self._next_id += 1
        self._events.append(event)
        return event

    def select(
        self,
        *,
        since_id: int | None = None,
        created_min: int | None = None,
        created_max: int | None = None,
        subject_types: Collection[str] | None = None,
        verb: str | None = None,
    ) -> list[ShopifyEvent]:
        """The events matching every filter given, in id order; subject types match in any case."""
        wanted = {name.lower() for name in subject_types} if subject_types is not None else None
        return [
            event
            for event in self._events
            if (since_id is None or event.id > since_id)
            and (created_min is None or event.created_at >= created_min)
            and (created_max is None or event.created_at <= created_max)
            and (wanted is None or event.subject_type.lower() in wanted)
            and (verb is None or event.verb == verb)
        ]
