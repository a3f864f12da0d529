"""WooCommerce connector: every sample mapped, and the values checked by hand against the payload files.

Expected values are read from the sample JSON (samples/woocommerce/*.json), not from the mapper's output.
WooCommerce sends each date twice without an offset: ``date_created`` in the site's zone and
``date_created_gmt`` in UTC. The docs' example site is at UTC-3 (``16:28:02`` local is ``19:28:02`` GMT),
so a record holding the GMT value with ``Z`` proves the ``_gmt`` field was read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mercator.connector.auth import BasicAuth
from mercator.connector.checklist import check
from mercator.connector.mapper import extract_customer, map_delivery
from mercator.connector.pagination import PageNumberPagination
from mercator.connector.webhook import HeaderValue, HmacVerification
from tests.unit.connectors.support import definition, map_details, map_event, map_list, sample

WOO = "woocommerce"
RESOURCES = {"products": "/products", "customers": "/customers", "orders": "/orders"}
ORDER_EVENTS_WITH_BUYER = ["order.created", "order.updated", "order.restored"]
ALL_EVENTS = {
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
    "customer.created",
    "customer.updated",
    "customer.deleted",
}


# --- the definition ---------------------------------------------------------------------------


def test_definition_passes_the_submission_checklist() -> None:
    # Given the shipped WooCommerce definition
    defn = definition(WOO)
    # When the checklist runs / Then it finds nothing
    assert check(defn) == []


def test_handler_events_and_trigger_events_are_the_same_set() -> None:
    # Given the handlers and the triggers
    defn = definition(WOO)
    handled = set(defn.handlers)
    triggered = [trigger.event for trigger in defn.triggers if trigger.transition is None]
    # Then every handler has a trigger and every trigger but the transition ones a handler, each once
    assert set(triggered) == handled
    assert len(triggered) == len(set(triggered))
    # And they are WooCommerce's core topics for orders, products and customers
    assert handled == ALL_EVENTS


def test_trigger_entity_types_follow_the_handler_record_types() -> None:
    defn = definition(WOO)
    entity = {"order": "Order", "product": "Product", "customer": "Customer"}
    for trigger in defn.triggers:
        if trigger.transition is None:
            assert trigger.entityType == entity[defn.handlers[trigger.event].recordType], trigger.event


@pytest.mark.parametrize(
    ("event", "operation"),
    [
        ("order.created", "create"),
        ("order.updated", "upsert"),
        ("order.restored", "upsert"),
        ("order.deleted", "delete"),
        ("product.created", "create"),
        ("product.updated", "upsert"),
        ("product.restored", "upsert"),
        ("product.deleted", "delete"),
        ("customer.created", "create"),
        ("customer.updated", "upsert"),
        ("customer.deleted", "delete"),
    ],
)
def test_handler_operations(event: str, operation: str) -> None:
    # Updates and restores carry the whole REST object, so they upsert; deletes carry only the id
    assert definition(WOO).handlers[event].operation == operation


def test_auth_is_basic_with_consumer_key_and_secret_and_the_store_url() -> None:
    auth = definition(WOO).auth
    assert isinstance(auth, BasicAuth)
    assert (auth.username, auth.password) == ("consumerKey", "consumerSecret")
    assert "storeUrl" in auth.credentials
    assert {"consumerKey", "consumerSecret", "storeUrl", "webhookSecret"} <= auth.provides()


def test_base_url_is_the_stores_wc_v3_namespace() -> None:
    assert definition(WOO).sync.baseUrl == "[[storeUrl]]/wp-json/wc/v3"


def test_rate_limit_is_a_conservative_default() -> None:
    # WooCommerce has no REST limit of its own; the host does. Two requests a second at most.
    config = definition(WOO).sync.syncConfiguration
    assert config.rateLimitPerSecond <= 2


def test_resources_are_products_customers_orders_and_no_carts() -> None:
    # WooCommerce core has no abandoned-cart API; shipments are the orders again (their tracking)
    assert set(definition(WOO).resources) == {*RESOURCES, "shipments"}


@pytest.mark.parametrize(("key", "url"), RESOURCES.items())
def test_lists_paginate_by_page_number_with_wp_headers(key: str, url: str) -> None:
    # Given a resource
    resource = definition(WOO).resources[key]
    pagination = resource.pagination
    # Then it pages with page/per_page, 100 at most, totals from the X-WP-* headers
    assert resource.endpoints.list.url == url
    assert isinstance(pagination, PageNumberPagination)
    assert (pagination.pageParam, pagination.paramName, pagination.startPage) == ("page", "per_page", 1)
    assert pagination.maxLimit == 100
    assert pagination.page_size(500) == 100
    assert pagination.totalPagesHeader == "X-WP-TotalPages"
    assert pagination.totalHeader == "X-WP-Total"
    # And the body is the bare array
    assert resource.responseMapping.dataProperty is None


@pytest.mark.parametrize(("key", "url"), RESOURCES.items())
def test_details_are_fetched_by_id_and_are_the_bare_record(key: str, url: str) -> None:
    details = definition(WOO).resources[key].endpoints.details
    assert details is not None
    assert details.url == url + "/{id}"
    assert details.dataProperty is None


# --- incremental listing ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["products", "orders"])
def test_incremental_query_is_cursor_less_overlap_in_gmt_without_offset(key: str) -> None:
    # Given a resource's incremental filter and a last-sync cursor of 2024-05-01 10:00 UTC
    incremental = definition(WOO).resources[key].incremental
    assert incremental is not None
    cursor = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    # When the query for that cursor is built
    params = incremental.query(cursor)
    # Then modified_after is five minutes earlier, in UTC with no offset, and flagged as GMT
    assert incremental.overlapSeconds == 300
    assert incremental.recordUpdatedAt == "date_modified_gmt"
    assert params == {"modified_after": "2024-05-01 09:55:00", "dates_are_gmt": True}


def test_incremental_cursor_in_another_zone_is_written_in_utc() -> None:
    # Given a cursor of 13:00 at +03:00 (10:00 UTC)
    incremental = definition(WOO).resources["orders"].incremental
    assert incremental is not None
    cursor = datetime(2024, 5, 1, 13, 0, 0, tzinfo=timezone(timedelta(hours=3)))
    # Then modified_after is 09:55 UTC
    assert incremental.query(cursor)["modified_after"] == "2024-05-01 09:55:00"


def test_customers_have_no_incremental_filter() -> None:
    # /customers has no modified_after (or any date) filter: every run lists them all
    assert definition(WOO).resources["customers"].incremental is None


# --- webhook configuration ----------------------------------------------------------------------


def test_deliveries_are_verified_by_base64_hmac_sha256_of_the_body() -> None:
    webhook = definition(WOO).webhook
    assert webhook is not None
    verification = webhook.verification
    assert isinstance(verification, HmacVerification)
    assert verification.header == "X-WC-Webhook-Signature"
    assert verification.algorithm == "sha256"
    assert verification.encoding == "base64"
    assert verification.signedContent == "body"
    assert verification.prefix == ""
    assert verification.secret == "webhookSecret"


def test_event_name_is_the_topic_header() -> None:
    webhook = definition(WOO).webhook
    assert webhook is not None
    assert isinstance(webhook.eventName, HeaderValue)
    assert webhook.eventName.name == "X-WC-Webhook-Topic"


def test_no_delivery_id_so_deliveries_dedupe_by_body_hash() -> None:
    # X-WC-Webhook-Delivery-ID is a hash of webhook id + current second: not unique
    webhook = definition(WOO).webhook
    assert webhook is not None
    assert webhook.deliveryId is None


def test_customers_are_extracted_from_order_events_with_a_buyer() -> None:
    webhook = definition(WOO).webhook
    assert webhook is not None and webhook.customerExtraction is not None
    assert webhook.customerExtraction.events == ORDER_EVENTS_WITH_BUYER


# --- products -----------------------------------------------------------------------------------


def test_products_list_maps_both_products() -> None:
    # When the products list sample (docs "List all products") is mapped
    products = map_list(WOO, "products")
    # Then products 799 and 794 come out, in the list's order
    assert [p["code"] for p in products] == ["799", "794"]


def test_variable_product_from_list_has_no_price_of_its_own() -> None:
    # Given product 799 "Ship Your Idea": type variable, price "" and regular_price "", sku ""
    product = map_list(WOO, "products")[0]
    # Then
    assert product["name"] == "Ship Your Idea"
    assert "unitPrice" not in product
    assert "sku" not in product
    assert product["status"] == "publish"
    assert product["url"] == "https://example.com/product/ship-your-idea-22/"
    assert product["categories"] == ["Clothing", "T-shirts"]
    assert product["tags"] == []
    assert product["images"] == [
        "https://example.com/wp-content/uploads/2017/03/T_4_front-11.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_4_back-10.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_3_front-10.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_3_back-10.jpg",
    ]
    # date_created_gmt 2017-03-23T20:03:12 (local 17:03:12)
    assert product["createdAt"] == "2017-03-23T20:03:12Z"
    assert product["attributes"]["productType"] == "variable"


def test_simple_product_details_have_price_image_and_gmt_dates() -> None:
    # Given product 794 "Premium Quality" (docs "Retrieve a product"): regular_price "21.99",
    # sale_price "", stock_quantity null
    product = map_details(WOO, "products")
    # Then
    assert product["code"] == "794"
    assert product["name"] == "Premium Quality"
    assert product["unitPrice"] == 21.99
    assert "salePrice" not in product
    assert "quantity" not in product
    assert product["imageUrl"] == "https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg"
    assert len(product["images"]) == 2
    assert product["description"].startswith("<p>Pellentesque habitant morbi")
    assert product["description"].endswith("Mauris placerat eleifend leo.</p>")
    # date_created_gmt and date_modified_gmt 2017-03-23T20:01:14 (local 17:01:14)
    assert product["createdAt"] == "2017-03-23T20:01:14Z"
    assert product["updatedAt"] == "2017-03-23T20:01:14Z"
    assert product["attributes"]["stockStatus"] == "instock"


@pytest.mark.parametrize("event", ["product.created", "product.restored"])
def test_product_create_and_restore_deliveries_map_the_rest_object(event: str) -> None:
    product = map_event(WOO, event)
    assert (product["code"], product["name"], product["unitPrice"]) == ("794", "Premium Quality", 21.99)


def test_product_updated_delivery_carries_the_new_price() -> None:
    # Given the docs' "Update a product" response: 794 with regular_price "24.54", renumbered 796 so that
    # it is not the list's 794 at another moment
    product = map_event(WOO, "product.updated")
    # Then
    assert product["code"] == "796"
    assert product["unitPrice"] == 24.54
    assert product["attributes"]["price"] == 24.54


def test_product_deleted_delivery_gives_code_and_deleted() -> None:
    # Given {"id": 794}
    assert map_event(WOO, "product.deleted") == {"code": "794", "deleted": True}


# --- customers ----------------------------------------------------------------------------------


def test_customers_list_maps_both_customers() -> None:
    # When the customers list sample (docs "List all customers") is mapped
    customers = map_list(WOO, "customers")
    # Then
    assert [c["code"] for c in customers] == ["26", "25"]
    joao, john = customers
    assert joao["email"] == "joao.silva@example.com"
    assert joao["phone"] == "(55) 5555-5555"
    assert (joao["firstName"], joao["lastName"], joao["fullName"]) == ("João", "Silva", "João Silva")
    assert (joao["city"], joao["country"]) == ("Rio de Janeiro", "BR")
    # date_created_gmt 2017-03-21T19:11:14, date_modified_gmt 2017-03-21T19:11:16
    assert joao["createdAt"] == "2017-03-21T19:11:14Z"
    assert joao["updatedAt"] == "2017-03-21T19:11:16Z"
    assert john["email"] == "john.doe@example.com"
    assert (john["city"], john["country"]) == ("San Francisco", "US")


def test_customer_details_map_customer_25() -> None:
    # Given the real "Retrieve a customer" example (id 25, John Doe)
    customer = map_details(WOO, "customers")
    # Then
    assert customer["code"] == "25"
    assert customer["email"] == "john.doe@example.com"
    assert customer["phone"] == "(555) 555-5555"
    assert customer["fullName"] == "John Doe"
    # date_created_gmt 2017-03-21T19:09:28 (local 16:09:28), date_modified_gmt 2017-03-21T19:09:30
    assert customer["createdAt"] == "2017-03-21T19:09:28Z"
    assert customer["updatedAt"] == "2017-03-21T19:09:30Z"
    assert customer["attributes"]["username"] == "john.doe"
    assert customer["attributes"]["role"] == "customer"
    assert customer["attributes"]["isPayingCustomer"] is False


@pytest.mark.parametrize("event", ["customer.created", "customer.updated"])
def test_customer_deliveries_map_the_rest_object(event: str) -> None:
    customer = map_event(WOO, event)
    assert (customer["code"], customer["email"]) == ("25", "john.doe@example.com")


def test_customer_deleted_delivery_gives_code_and_deleted() -> None:
    assert map_event(WOO, "customer.deleted") == {"code": "25", "deleted": True}


# --- orders -------------------------------------------------------------------------------------


def test_orders_list_maps_both_orders() -> None:
    assert [o["code"] for o in map_list(WOO, "orders")] == ["727", "723"]


def test_guest_order_totals_are_numbers_and_dates_are_gmt() -> None:
    # Given order 727: total "29.35", shipping_total "10.00", total_tax "1.35", discount_total "0.00",
    # date_created_gmt 2017-03-22T19:28:02 (local 16:28:02), date_modified_gmt 2017-03-22T19:28:08
    order = map_details(WOO, "orders")
    # Then
    assert order["code"] == "727"
    assert order["orderNumber"] == "727"
    assert order["status"] == "processing"
    assert order["paymentStatus"] == "paid"
    assert order["paymentMethod"] == "Direct Bank Transfer"
    assert order["currency"] == "USD"
    assert order["totalAmount"] == 29.35
    assert order["shippingAmount"] == 10.0
    assert order["taxAmount"] == 1.35
    assert order["discountAmount"] == 0.0
    # line subtotals "6.00" + "12.00"
    assert order["subtotalAmount"] == 18.0
    assert order["createdAt"] == "2017-03-22T19:28:02Z"
    assert order["updatedAt"] == "2017-03-22T19:28:08Z"
    # date_paid_gmt 2017-03-22T19:28:08
    assert order["attributes"]["paidAt"] == "2017-03-22T19:28:08Z"
    # coupon_lines is []
    assert "discountCodes" not in order


def test_order_line_items_keep_names_quantities_and_prices() -> None:
    items = map_details(WOO, "orders")["items"]
    assert [(i["code"], i["name"], i["quantity"], i["productCode"]) for i in items] == [
        ("315", "Woo Single #1", 2, "93"),
        ("316", "Ship Your Idea &ndash; Color: Black, Size: M Test", 1, "22"),
    ]
    first, second = items
    assert (first["unitPrice"], first["totalAmount"]) == (3, 6.0)
    assert "sku" not in first  # sku ""
    assert (second["unitPrice"], second["totalAmount"], second["sku"]) == (12, 12.0, "Bar3")
    assert second["attributes"]["variationId"] == 23


def test_guest_order_buyer_has_no_code_but_billing_contact() -> None:
    # Given order 727: customer_id 0 (guest checkout), billing John Doe
    customer = map_details(WOO, "orders")["customer"]
    # Then the buyer is the billing contact, without a customer code
    assert "code" not in customer
    assert customer["email"] == "john.doe@example.com"
    assert customer["phone"] == "(555) 555-5555"
    assert customer["name"] == "John Doe"


def test_order_shipping_address_drops_blank_lines() -> None:
    address = map_details(WOO, "orders")["shippingAddress"]
    assert address == {
        "name": "John Doe",
        "line1": "969 Market",
        "city": "San Francisco",
        "region": "CA",
        "postalCode": "94103",
        "country": "US",
    }


def test_registered_buyers_order_from_the_list() -> None:
    # Given order 723: completed, total "39.00", customer_id 26, two lines of "9.00" and "20.00"
    order = map_list(WOO, "orders")[1]
    # Then
    assert order["status"] == "completed"
    assert order["totalAmount"] == 39.0
    assert order["subtotalAmount"] == 29.0
    assert order["customer"]["code"] == "26"
    assert order["customer"]["email"] == "joao.silva@example.com"
    assert [i["name"] for i in order["items"]] == ["Woo Album #2", "Woo Ninja"]
    # date_created_gmt 2017-03-21T19:16:00, date_completed_gmt 2017-03-21T19:54:51
    assert order["createdAt"] == "2017-03-21T19:16:00Z"
    assert order["attributes"]["completedAt"] == "2017-03-21T19:54:51Z"


@pytest.mark.parametrize("event", ["order.created", "order.restored"])
def test_order_create_and_restore_deliveries_map_the_rest_object(event: str) -> None:
    order = map_event(WOO, event)
    assert (order["code"], order["totalAmount"], order["currency"]) == ("727", 29.35, "USD")


def test_order_updated_delivery_of_registered_buyer() -> None:
    order = map_event(WOO, "order.updated", 0)
    assert (order["code"], order["status"], order["totalAmount"]) == ("723", "completed", 39.0)
    assert order["customer"]["code"] == "26"


def test_order_updated_with_a_coupon_joins_the_coupon_codes() -> None:
    # Given order 727 after coupon "welcome6" (6.00 off), renumbered 729: total "22.90", total_tax
    # "0.90", line totals "4.00" and "8.00", date_modified_gmt 2017-03-22T19:40:00
    order = map_event(WOO, "order.updated", 1)
    # Then
    assert order["code"] == "729"
    assert order["discountCodes"] == "welcome6"
    assert order["discountAmount"] == 6.0
    assert order["totalAmount"] == 22.9
    assert order["taxAmount"] == 0.9
    assert order["subtotalAmount"] == 18.0  # line subtotals are before the coupon
    assert [i["totalAmount"] for i in order["items"]] == [4.0, 8.0]
    assert order["updatedAt"] == "2017-03-22T19:40:00Z"


def test_order_deleted_delivery_gives_code_and_deleted() -> None:
    # Given {"id": 727}
    assert map_event(WOO, "order.deleted") == {"code": "727", "deleted": True}


def test_delete_delivery_needs_nothing_but_the_id() -> None:
    # Given a delete body as WooCommerce sends it
    outcome = map_delivery(definition(WOO), "product.deleted", {"id": 1234})
    # Then it maps to the code alone, whatever else is missing
    assert outcome.failures == []
    assert outcome.records == [{"code": "1234", "deleted": True}]


# --- customer extraction -------------------------------------------------------------------------


def test_registered_buyer_is_extracted_with_the_customer_id_as_code() -> None:
    # Given order 723's delivery: customer_id 26, billing João Silva, joao.silva@example.com,
    # phone "(11) 1111-1111", Rio de Janeiro, BR
    defn = definition(WOO)
    body = sample(WOO, defn.handlers["order.updated"].samples[0])
    # When the buyer is extracted
    outcome = extract_customer(defn, "order.updated", body)
    # Then it is customer 26, the same code as the customers resource gives
    assert outcome is not None and outcome.failures == []
    assert outcome.records == [
        {
            "code": "26",
            "email": "joao.silva@example.com",
            "phone": "(11) 1111-1111",
            "firstName": "João",
            "lastName": "Silva",
            "fullName": "João Silva",
            "city": "Rio de Janeiro",
            "country": "BR",
            "groups": [],
        }
    ]


def test_guest_order_extracts_no_customer_and_no_failure() -> None:
    # Given order 727's delivery: customer_id 0 (guest checkout)
    defn = definition(WOO)
    body = sample(WOO, defn.handlers["order.created"].samples[0])
    assert body["customer_id"] == 0
    # When the buyer is extracted
    outcome = extract_customer(defn, "order.created", body)
    # Then no customer "0" is made (that would merge every guest), and the delivery does not fail
    assert outcome is not None
    assert outcome.records == []
    assert outcome.failures == []


@pytest.mark.parametrize("event", ["order.deleted", "product.updated", "customer.updated"])
def test_no_extraction_from_events_without_a_buyer(event: str) -> None:
    defn = definition(WOO)
    body = sample(WOO, defn.handlers[event].samples[0])
    assert extract_customer(defn, event, body) is None


# --- samples --------------------------------------------------------------------------------------


def test_every_sample_is_referenced_and_every_handler_has_one() -> None:
    defn = definition(WOO)
    for key, resource in defn.resources.items():
        assert resource.samples.list, key
        assert resource.samples.details or resource.endpoints.details is None, key
    for event, handler in defn.handlers.items():
        assert handler.samples, event


def test_delete_samples_are_id_only_bodies() -> None:
    defn = definition(WOO)
    for event in ("order.deleted", "product.deleted", "customer.deleted"):
        body = sample(WOO, defn.handlers[event].samples[0])
        assert list(body) == ["id"] and isinstance(body["id"], int), event


def test_written_samples_agree_with_the_real_ones() -> None:
    # order_updated.json is order 723 of the real list; the products list ends with the retrieved 794
    orders = sample(WOO, "samples/woocommerce/orders_list.json")
    assert sample(WOO, "samples/woocommerce/order_updated.json") == orders[1]
    assert sample(WOO, "samples/woocommerce/order_details.json")["id"] == orders[0]["id"]
    listed = sample(WOO, "samples/woocommerce/products_list.json")[1]
    retrieved = sample(WOO, "samples/woocommerce/product_details.json")
    differing = {key for key in retrieved if listed[key] != retrieved[key]}
    assert differing == {"related_ids", "default_attributes"}
