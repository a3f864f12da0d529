"""Shipments in platform-neutral terms: what tests and the demo compare across flavors.

Each platform keeps shipments its own way (Shopify's fulfillments on an order, Salla's shipments,
Zid's delivery status and tracking on the order, WooCommerce's order status and the Shipment
Tracking extension's order meta); each flavor renders them as :class:`ShipmentView` and carries out
the store's own changes (the merchant ships an order, the carrier reports it delivered) the way the
platform does, firing the platform's webhooks.
"""

from __future__ import annotations

from typing import Literal, TypedDict

# What the carrier reports, in Mercator's terms; each flavor turns it into the platform's own status.
CarrierStatus = Literal["in_transit", "out_for_delivery", "delivered", "failed", "returned"]


class ShipmentView(TypedDict):
    """One shipment of an order as the store holds it."""

    id: int  # the platform's id of the shipment (the order's id where the order is the shipment)
    order_id: int
    status: str  # the platform's own status text, as its API writes it
    carrier: str | None
    tracking_numbers: list[str]
    tracking_url: str | None
