"""Shopify connector: every sample mapped, and the values checked by hand against the payload files.

Expected values are read from the sample JSON (samples/shopify/*.json), not from the mapper's output.
Shopify writes local times with an offset (``2021-12-31T19:00:00-05:00``); the records hold UTC.
The webhook samples' ids went through float64 (see samples/shopify/PROVENANCE.md), so the codes below
are what the files hold (``820982911946154500``), not Shopify's original ids.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mercator.connector.auth import OAuth2Auth
from mercator.connector.checklist import check
from mercator.connector.mapper import extract_customer, map_delivery, map_list_response
from mercator.connector.pagination import LinkHeaderPagination
from mercator.connector.webhook import HeaderValue, HmacVerification
from tests.unit.connectors.support import definition, map_details, map_event, map_list, sample

SHOPIFY = "shopify"
ORDER_EVENTS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled"]
LIST_RESOURCES = {
    "products": ("/products.json", "products"),
    "customers": ("/customers.json", "customers"),
    "orders": ("/orders.json", "orders"),
    "abandoned_carts": ("/checkouts.json", "checkouts"),
}


# --- the definition ---------------------------------------------------------------------------


def test_definition_passes_the_submission_checklist() -> None:
    # Given the shipped Shopify definition
    defn = definition(SHOPIFY)
    # When the checklist runs / Then it finds nothing
    assert check(defn) == []


def test_handler_events_and_trigger_events_are_the_same_set() -> None:
    # Given the handlers and the triggers that are not transitions
    defn = definition(SHOPIFY)
    handled = set(defn.handlers)
    triggered = [trigger.event for trigger in defn.triggers if trigger.transition is None]
    # Then each handler event has exactly one trigger and each trigger a handler
    assert sorted(triggered) == sorted(handled)
    assert len(triggered) == len(set(triggered))
    assert handled == {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/delete",
        "products/create",
        "products/update",
        "products/delete",
        "customers/create",
        "customers/update",
        "customers/delete",
        "carts/create",
        "carts/update",
        "fulfillments/create",
        "fulfillments/update",
        "fulfillment_events/create",
    }


def test_trigger_entity_types_follow_the_handler_record_types() -> None:
    # Given the triggers of the handlers
    defn = definition(SHOPIFY)
    entity = {
        "order": "Order",
        "product": "Product",
        "customer": "Customer",
        "cart": "Cart",
        "shipment": "Shipment",
    }
    # Then each trigger's entity type is its handler's record type
    for trigger in (trigger for trigger in defn.triggers if trigger.transition is None):
        assert trigger.entityType == entity[defn.handlers[trigger.event].recordType], trigger.event


def test_deletes_are_delete_operations_and_the_rest_write_full_records() -> None:
    # Given the handlers
    handlers = definition(SHOPIFY).handlers
    # Then only the */delete topics delete, and creates are creates
    assert {e for e, h in handlers.items() if h.operation == "delete"} == {
        "orders/delete",
        "products/delete",
        "customers/delete",
    }
    assert {e for e, h in handlers.items() if h.operation == "create"} == {
        "orders/create",
        "products/create",
        "customers/create",
        "fulfillments/create",
    }
    # and the carrier's event is the one partial update (it carries a status, not the fulfillment)
    assert {e for e, h in handlers.items() if h.operation == "update"} == {"fulfillment_events/create"}


def test_webhooks_are_verified_with_base64_hmac_sha256_of_the_raw_body() -> None:
    # Given the webhook block
    verification = definition(SHOPIFY).webhook.verification  # type: ignore[union-attr]
    # Then it is Shopify's scheme
    assert isinstance(verification, HmacVerification)
    assert verification.header == "X-Shopify-Hmac-SHA256"
    assert verification.algorithm == "sha256"
    assert verification.encoding == "base64"
    assert verification.signedContent == "body"
    assert verification.prefix == ""


def test_event_name_comes_from_the_topic_header() -> None:
    webhook = definition(SHOPIFY).webhook
    assert webhook is not None
    assert webhook.eventName == HeaderValue(**{"from": "header", "name": "X-Shopify-Topic"})


def test_delivery_id_comes_from_the_event_id_header() -> None:
    webhook = definition(SHOPIFY).webhook
    assert webhook is not None
    assert webhook.deliveryId == HeaderValue(**{"from": "header", "name": "X-Shopify-Event-Id"})


def test_sync_calls_the_shop_admin_api_with_the_access_token_header() -> None:
    sync = definition(SHOPIFY).sync
    assert sync.baseUrl == "https://[[shopDomain]]/admin/api/2025-01"
    assert sync.headers["X-Shopify-Access-Token"] == "[[accessToken]]"


def test_oauth_urls_are_per_shop_and_give_the_token() -> None:
    auth = definition(SHOPIFY).auth
    assert isinstance(auth, OAuth2Auth)
    assert auth.authorizeUrl == "https://[[shopDomain]]/admin/oauth/authorize"
    assert auth.tokenUrl == "https://[[shopDomain]]/admin/oauth/access_token"
    assert auth.auto_refresh is False  # offline tokens do not expire
    assert {"shopDomain", "accessToken", "webhookSecret"} <= auth.provides()


def test_rate_limit_stays_within_the_leaky_bucket_leak_rate() -> None:
    # Given Shopify's bucket of 40 leaking 2 requests a second
    config = definition(SHOPIFY).sync.syncConfiguration
    # Then the steady rate never exceeds the leak
    assert config.rateLimitPerSecond == 2


@pytest.mark.parametrize(("key", "expected"), LIST_RESOURCES.items())
def test_list_endpoints_paginate_by_link_header_up_to_250(key: str, expected: tuple[str, str]) -> None:
    # Given a resource
    resource = definition(SHOPIFY).resources[key]
    url, data_property = expected
    # Then it lists from Shopify's endpoint, by Link header, 250 a page, records under the plural key
    assert resource.endpoints.list.url == url
    assert isinstance(resource.pagination, LinkHeaderPagination)
    assert resource.pagination.paramName == "limit"
    assert resource.pagination.maxLimit == 250
    assert resource.pagination.page_size(1000) == 250
    assert resource.responseMapping.dataProperty == data_property


def test_orders_are_listed_whatever_their_status() -> None:
    assert definition(SHOPIFY).resources["orders"].endpoints.list.params == {"status": "any"}


def test_order_details_are_fetched_by_id_under_order() -> None:
    details = definition(SHOPIFY).resources["orders"].endpoints.details
    assert details is not None
    assert details.url == "/orders/{id}.json"
    assert details.dataProperty == "order"


@pytest.mark.parametrize("key", LIST_RESOURCES)
def test_incremental_run_asks_for_updates_since_cursor_less_overlap(key: str) -> None:
    # Given a resource's incremental filter and a last-sync cursor of 10:00 UTC
    incremental = definition(SHOPIFY).resources[key].incremental
    assert incremental is not None
    cursor = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    # When the query for that cursor is built
    params = incremental.query(cursor)
    # Then it asks for records updated since five minutes before, in ISO 8601 with offset
    assert incremental.overlapSeconds == 300
    assert incremental.recordUpdatedAt == "updated_at"
    assert params == {"updated_at_min": "2024-05-01T09:55:00+00:00"}


def test_incremental_cursor_in_another_zone_is_written_in_utc() -> None:
    # Given a cursor of 12:00 at +02:00 (10:00 UTC)
    incremental = definition(SHOPIFY).resources["orders"].incremental
    assert incremental is not None
    cursor = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    # Then updated_at_min is 09:55 UTC
    assert incremental.query(cursor) == {"updated_at_min": "2024-05-01T09:55:00+00:00"}


# --- resources --------------------------------------------------------------------------------


def test_products_list_sample_is_the_real_fixture_in_the_real_envelope() -> None:
    # Given the SDK's bare-array fixture and the wrapped list sample
    bare = sample(SHOPIFY, "samples/shopify/products_list_bare_array.json")
    wrapped = sample(SHOPIFY, "samples/shopify/products_list.json")
    # Then the list response is {"products": <the fixture>}
    assert wrapped == {"products": bare}


def test_products_list_maps_every_product() -> None:
    # When the products list sample is mapped
    products = map_list(SHOPIFY, "products")
    # Then the four products of the fixture (ids 1..4) come out
    assert [p["code"] for p in products] == ["1", "2", "3", "4"]


def test_product_from_list_has_first_variant_price_and_stock() -> None:
    # Given product 1: one variant "Pink", price "199.00", sku IPOD2008PINK, 10 in stock
    product = map_list(SHOPIFY, "products")[0]
    # Then
    assert product["name"] == "IPod Nano - 8GB"
    assert product["sku"] == "IPOD2008PINK"
    assert product["unitPrice"] == 199.0
    assert product["quantity"] == 10
    assert product["imageUrl"] == "http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0"
    assert product["images"] == ["http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0"]
    # 2011-10-20T14:05:13-04:00
    assert product["createdAt"] == "2011-10-20T18:05:13Z"
    assert product["updatedAt"] == "2011-10-20T18:05:13Z"


def test_product_keeps_vendor_type_and_raw_tags_in_attributes() -> None:
    attributes = map_list(SHOPIFY, "products")[0]["attributes"]
    assert attributes["vendor"] == "Apple"
    assert attributes["productType"] == "Cult Products"
    assert attributes["handle"] == "ipod-nano"
    # Shopify's one comma-separated string; core:product tags stays empty (no split transform yet)
    assert attributes["tags"] == "Emotive, Flash Memory, MP3, Music"
    # published_at 2007-12-31T19:00:00-05:00
    assert attributes["publishedAt"] == "2008-01-01T00:00:00Z"


def test_customers_list_maps_both_customers() -> None:
    # When the customers list sample (2025-01 docs example) is mapped
    customers = map_list(SHOPIFY, "customers")
    # Then
    assert [c["code"] for c in customers] == ["1073339462", "207119551"]
    steve, bob = customers
    assert steve["email"] == "steve.lastnameson@example.com"
    assert steve["phone"] == "+15142546011"
    assert steve["fullName"] == "Steve Lastnameson"
    assert (steve["city"], steve["country"]) == ("Ottawa", "CA")
    # created_at 2025-01-02T11:27:00-05:00
    assert steve["createdAt"] == "2025-01-02T16:27:00Z"
    assert bob["email"] == "bob.norman@mail.example.com"
    assert (bob["firstName"], bob["lastName"]) == ("Bob", "Norman")
    assert (bob["city"], bob["country"]) == ("Louisville", "US")
    # created_at 2025-01-02T11:26:48-05:00
    assert bob["createdAt"] == "2025-01-02T16:26:48Z"


def test_customer_marketing_consent_and_spend() -> None:
    # Given Bob: email_marketing_consent.state not_subscribed, total_spent "199.65", tags "Léon, Noël"
    bob = map_list(SHOPIFY, "customers")[1]
    assert bob["acceptsMarketing"] is False
    assert bob["attributes"]["totalSpent"] == 199.65
    assert bob["attributes"]["ordersCount"] == 1
    assert bob["attributes"]["tags"] == "Léon, Noël"


def test_orders_list_maps_the_order_totals_as_numbers() -> None:
    # Given order #1001 of the SDK fixture
    (order,) = map_list(SHOPIFY, "orders")
    # Then
    assert order["code"] == "450789469"
    assert order["orderNumber"] == "#1001"
    assert order["totalAmount"] == 598.94
    assert order["subtotalAmount"] == 597.0
    assert order["taxAmount"] == 11.94
    assert order["discountAmount"] == 10.0
    assert order["shippingAmount"] == 0.0
    assert order["currency"] == "USD"
    # created_at 2008-01-10T11:00:00-05:00
    assert order["createdAt"] == "2008-01-10T16:00:00Z"


def test_orders_list_statuses_and_buyer() -> None:
    (order,) = map_list(SHOPIFY, "orders")
    # fulfillment_status is absent (Shopify: null = unfulfilled); financial_status partially_refunded
    assert order["status"] == "unfulfilled"
    assert order["paymentStatus"] == "partially_refunded"
    assert order["paymentMethod"] == "bogus"
    assert order["customer"]["code"] == "207119551"
    assert order["customer"]["email"] == "bob.norman@hostmail.com"
    assert order["customer"]["phone"] == "+16136120707"
    assert order["customer"]["name"] == "Bob Norman"
    assert order["shippingAddress"]["postalCode"] == "40202"
    assert order["shippingAddress"]["country"] == "US"
    # this fixture has no line_items
    assert order["items"] == []


def test_order_details_maps_lines_and_discount_code() -> None:
    # Given GET orders/450789469.json: three 199.00 lines and discount code TENOFF
    order = map_details(SHOPIFY, "orders")
    # Then
    assert order["code"] == "450789469"
    assert order["totalAmount"] == 409.94
    assert order["subtotalAmount"] == 398.0
    assert order["discountCodes"] == "TENOFF"
    assert order["paymentStatus"] == "authorized"
    assert [item["name"] for item in order["items"]] == [
        "IPod Nano - 8gb - green",
        "IPod Nano - 8gb - red",
        "IPod Nano - 8gb - black",
    ]
    assert [item["quantity"] for item in order["items"]] == [1, 1, 1]
    assert [item["sku"] for item in order["items"]] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert {item["unitPrice"] for item in order["items"]} == {199.0}
    assert order["items"][0]["productCode"] == "632910392"
    assert order["customer"]["email"] == "bob.norman@hostmail.com"


def test_abandoned_checkouts_map_into_carts_keyed_by_cart_token() -> None:
    # Given the 2025-01 docs example of GET checkouts.json
    (cart,) = map_list(SHOPIFY, "abandoned_carts")
    # Then the cart token is the code and the checkout id is kept
    assert cart["code"] == "68778783ad298f1c80c3bafcddeea02f"
    assert cart["attributes"]["checkoutId"] == "450789469"
    assert cart["status"] == "abandoned"
    assert cart["totalAmount"] == 379.69
    assert cart["currency"] == "USD"
    assert cart["couponCodes"] == "TENOFF"
    assert cart["checkoutUrl"] == (
        "https://checkout.local/548380009/checkouts/2a1ace52255252df566af0faaedfbfa7/recover"
    )
    # created_at 2012-10-12T07:05:27-04:00
    assert cart["createdAt"] == "2012-10-12T11:05:27Z"


def test_abandoned_checkout_buyer_and_lines() -> None:
    (cart,) = map_list(SHOPIFY, "abandoned_carts")
    assert cart["customer"]["email"] == "bob.norman@mail.example.com"
    assert cart["customer"]["phone"] == "+16136120707"
    assert cart["customer"]["name"] == "Bob Norman"
    assert [(i["name"], i["sku"], i["quantity"]) for i in cart["items"]] == [
        ("IPod Nano - 8GB", "IPOD2008RED", 1),
        ("IPod Nano - 8GB", "IPOD2008PINK", 1),
    ]
    assert [i["totalAmount"] for i in cart["items"]] == [199.0, 199.0]


def test_a_checkout_without_cart_token_falls_back_to_its_token() -> None:
    # Given the checkout sample without its cart token
    defn = definition(SHOPIFY)
    body = copy.deepcopy(sample(SHOPIFY, "samples/shopify/abandoned_checkouts_list.json"))
    body["checkouts"][0]["cart_token"] = None
    # When mapped
    outcome = map_list_response(defn, "abandoned_carts", body)
    # Then the checkout token is the code
    assert not outcome.failures
    assert outcome.records[0]["code"] == "2a1ace52255252df566af0faaedfbfa7"


# --- webhooks: orders -------------------------------------------------------------------------


def test_orders_create_maps_the_published_sample() -> None:
    # Given Shopify's orders/create sample (id rounded by float64 in the file)
    order = map_event(SHOPIFY, "orders/create")
    # Then
    assert order["code"] == "820982911946154500"
    assert order["orderNumber"] == "#9999"
    assert order["totalAmount"] == 388.0
    assert order["subtotalAmount"] == 388.0
    assert order["shippingAmount"] == 10.0
    assert order["taxAmount"] == 0.0
    assert order["discountAmount"] == 20.0
    assert order["currency"] == "USD"
    # created_at 2021-12-31T19:00:00-05:00
    assert order["createdAt"] == "2022-01-01T00:00:00Z"
    assert order["paymentStatus"] == "voided"
    assert order["paymentMethod"] == "visa,bogus"


def test_orders_create_lines_and_buyer() -> None:
    order = map_event(SHOPIFY, "orders/create")
    assert [(i["name"], i["quantity"], i["unitPrice"]) for i in order["items"]] == [
        ("IPod Nano - 8GB", 1, 199.0),
        ("IPod Nano - 8GB", 1, 199.0),
    ]
    assert [i["code"] for i in order["items"]] == ["866550311766439000", "141249953214522980"]
    # the customer's own email wins over the order's contact email (jon@example.com)
    assert order["customer"]["email"] == "john@example.com"
    assert order["customer"]["code"] == "115310627314723950"
    assert order["shippingAddress"]["name"] == "Steve Shipper"


def test_orders_create_without_discount_codes_has_none() -> None:
    # discount_codes is [] in the sample
    assert "discountCodes" not in map_event(SHOPIFY, "orders/create")


def test_orders_create_keeps_cancellation_and_tags() -> None:
    attributes = map_event(SHOPIFY, "orders/create")["attributes"]
    assert attributes["cancelReason"] == "customer"
    assert attributes["cancelledAt"] == "2022-01-01T00:00:00Z"
    assert attributes["tags"] == "tag1, tag2"
    assert attributes["test"] is True


def test_orders_updated_upserts_the_full_order() -> None:
    order = map_event(SHOPIFY, "orders/updated")
    assert order["code"] == "820982911946154500"
    assert order["status"] == "unfulfilled"
    assert order["totalAmount"] == 388.0


def test_orders_paid_carries_payment_and_discount_code() -> None:
    # Given the orders/paid sample: financial_status paid, code WELCOME20, updated 09:30 at -05:00
    order = map_event(SHOPIFY, "orders/paid")
    assert order["paymentStatus"] == "paid"
    assert order["discountCodes"] == "WELCOME20"
    assert order["updatedAt"] == "2022-01-01T14:30:00Z"
    assert order["attributes"]["cancelledAt"] is None


def test_orders_cancelled_maps_the_order_as_the_listing_does() -> None:
    # Given the sample order, cancelled 2022-01-01 (cancel_reason customer), not fulfilled
    cancelled = map_event(SHOPIFY, "orders/cancelled")
    # Then it is the same record the listing and orders/updated give: status is the fulfillment
    # state on every path, the cancellation is in attributes
    assert cancelled == map_event(SHOPIFY, "orders/updated")
    assert cancelled["status"] == "unfulfilled"
    assert cancelled["attributes"]["cancelledAt"] == "2022-01-01T00:00:00Z"


def test_orders_delete_yields_code_and_deleted() -> None:
    # Given the orders/delete sample {"id": 820982911946154500}
    assert map_event(SHOPIFY, "orders/delete") == {"code": "820982911946154500", "deleted": True}


def test_customer_is_extracted_from_orders_create() -> None:
    # Given the orders/create sample's customer John Smith
    defn = definition(SHOPIFY)
    outcome = extract_customer(defn, "orders/create", sample(SHOPIFY, "samples/shopify/orders_create.json"))
    # Then one core:customer
    assert outcome is not None
    assert not outcome.failures
    (customer,) = outcome.records
    assert customer["code"] == "115310627314723950"
    assert customer["email"] == "john@example.com"
    assert (customer["firstName"], customer["lastName"]) == ("John", "Smith")
    assert customer["fullName"] == "John Smith"
    assert (customer["city"], customer["country"]) == ("Ottawa", "CA")
    # customer.phone and the order's phone are both null
    assert "phone" not in customer


def test_customer_extraction_lists_the_order_events_only() -> None:
    extraction = definition(SHOPIFY).webhook.customerExtraction  # type: ignore[union-attr]
    assert extraction is not None
    assert extraction.events == ORDER_EVENTS


def test_no_customer_is_extracted_from_an_order_delete() -> None:
    defn = definition(SHOPIFY)
    assert extract_customer(defn, "orders/delete", {"id": 820982911946154500}) is None


def test_guest_order_maps_and_extracts_no_customer_without_failing() -> None:
    # Given the orders/create sample of a guest checkout (customer null)
    defn = definition(SHOPIFY)
    body = copy.deepcopy(sample(SHOPIFY, "samples/shopify/orders_create.json"))
    body["customer"] = None
    # When mapped and a customer extracted
    order = map_delivery(defn, "orders/create", body)
    customer = extract_customer(defn, "orders/create", body)
    # Then the order still maps, its buyer is the contact email, and no customer (nor failure) comes out
    assert not order.failures
    assert order.records[0]["customer"] == {"email": "jon@example.com"}
    assert customer is not None
    assert (customer.records, customer.failures) == ([], [])


# --- webhooks: products, customers, carts -----------------------------------------------------


@pytest.mark.parametrize("event", ["products/create", "products/update"])
def test_product_webhooks_map_the_published_sample(event: str) -> None:
    # Given Shopify's products/update sample: variants Small (75) and Medium (50) at "19.99"
    product = map_event(SHOPIFY, event)
    # Then
    assert product["code"] == "788032119674292900"
    assert product["name"] == "Example T-Shirt"
    assert product["description"] == "An example T-Shirt"
    assert product["unitPrice"] == 19.99
    assert product["quantity"] == 125
    assert product["status"] == "active"
    # updated_at 2021-12-31T19:00:00-05:00; created_at is null in the sample
    assert product["updatedAt"] == "2022-01-01T00:00:00Z"
    assert "createdAt" not in product
    assert product["attributes"]["compareAtPrice"] == 24.99
    assert product["attributes"]["tags"] == "example, mens, t-shirt"


def test_products_delete_yields_code_and_deleted() -> None:
    assert map_event(SHOPIFY, "products/delete") == {"code": "788032119674292900", "deleted": True}


@pytest.mark.parametrize("event", ["customers/create", "customers/update"])
def test_customer_webhooks_map_the_published_sample(event: str) -> None:
    # Given Shopify's customers/create sample: Bob Biller, bob@biller.com, phone null
    customer = map_event(SHOPIFY, event)
    # Then
    assert customer["code"] == "706405506930370000"
    assert customer["email"] == "bob@biller.com"
    assert customer["fullName"] == "Bob Biller"
    assert "phone" not in customer
    assert (customer["city"], customer["country"]) == ("Ottawa", "CA")
    # created_at 2021-12-31T19:00:00-05:00
    assert customer["createdAt"] == "2022-01-01T00:00:00Z"
    assert customer["attributes"]["note"] == "This customer loves ice cream"


def test_customers_delete_yields_code_and_deleted() -> None:
    assert map_event(SHOPIFY, "customers/delete") == {"code": "706405506930370000", "deleted": True}


@pytest.mark.parametrize("event", ["carts/create", "carts/update"])
def test_cart_webhooks_map_the_published_sample(event: str) -> None:
    # Given Shopify's carts/update sample: 3 x "Example T-Shirt - Small" at "19.99", line "59.97"
    cart = map_event(SHOPIFY, event)
    # Then
    assert cart["code"] == "eeafa272cebfd4b22385bc4b645e762c"
    # A storefront cart has no total; the abandoned checkout of the same cart token brings it
    assert "totalAmount" not in cart
    assert cart["currency"] == "USD"
    # created_at 2022-01-01T00:00:00.000Z
    assert cart["createdAt"] == "2022-01-01T00:00:00Z"
    (item,) = cart["items"]
    assert item["name"] == "Example T-Shirt - Small"
    assert item["quantity"] == 3
    assert item["unitPrice"] == 19.99
    assert item["totalAmount"] == 59.97
    assert item["sku"] == "example-shirt-s"
    assert item["productCode"] == "788032119674292900"
    assert "customer" not in cart
