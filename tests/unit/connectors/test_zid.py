"""The shipped Zid connector: its definition, and its samples mapped into canonical records.

Every expected value below was read by hand from the sample JSON under
shared/mercator/connectors/samples/zid/ (the comments say where). Zid's order and cart dates
("2026-01-30 15:56:02") carry no zone and are UTC, so they only gain a "T" and a "Z"; products and
customers already send ISO 8601 with Z. Money strings such as "100.00000000000000" become numbers.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from mercator.connector.auth import OAuth2Auth
from mercator.connector.checklist import check
from mercator.connector.mapper import extract_customer
from mercator.connector.pagination import NextUrlPagination, PageNumberPagination
from mercator.connector.webhook import BasicVerification, QueryValue
from tests.unit.connectors.support import definition, map_details, map_event, map_list, sample

ZID = "zid"
ORDER_CREATE = "samples/zid/order_create.json"

ORDER_EVENTS = {"order.create", "order.status.update", "order.payment_status.update"}
PRODUCT_EVENTS = {"product.create", "product.update", "product.publish", "product.delete"}
CUSTOMER_EVENTS = {"customer.create", "customer.update"}
CART_EVENTS = {"abandoned_cart.created", "abandoned_cart.completed"}


# --- the definition -------------------------------------------------------------------------


def test_definition_passes_the_submission_checklist():
    # Given the shipped Zid definition
    defn = definition(ZID)
    # When the submission checklist runs over it and its samples
    findings = check(defn)
    # Then nothing is reported
    assert findings == []


def test_auth_is_oauth2_with_refresh_at_oauth_zid_sa():
    # Given the Zid definition
    auth = definition(ZID).auth
    # Then it authorizes through Zid's OAuth 2.0 server with a refreshable token
    assert isinstance(auth, OAuth2Auth)
    assert auth.authorizeUrl == "https://oauth.zid.sa/oauth/authorize"
    assert auth.tokenUrl == "https://oauth.zid.sa/oauth/token"
    assert auth.auto_refresh is True


def test_auth_declares_the_authorization_token_and_store_id():
    # Given the Zid auth block
    auth = definition(ZID).auth
    assert auth is not None
    # Then the second token of Zid's token response and the store id are credentials
    assert {"authorizationToken", "storeId"} <= set(auth.credentials)
    assert {"accessToken", "authorizationToken", "storeId"} <= auth.provides()


def test_every_call_carries_both_zid_tokens():
    # Given the Zid sync headers
    headers = definition(ZID).sync.headers
    # Then the partner token is the Bearer and the store token is the manager token
    assert headers["Authorization"] == "Bearer [[authorizationToken]]"
    assert headers["X-Manager-Token"] == "[[accessToken]]"


def test_every_call_carries_the_product_api_headers():
    # Given the Zid sync headers
    headers = definition(ZID).sync.headers
    # Then the product endpoints find the store token, the store and the manager role
    assert headers["Access-Token"] == "[[accessToken]]"
    assert headers["Store-Id"] == "[[storeId]]"
    assert headers["Role"] == "Manager"


def test_sync_calls_the_v1_api():
    assert definition(ZID).sync.baseUrl == "https://api.zid.sa/v1"


def test_rate_limit_fits_60_requests_a_minute():
    # Given Zid's limit of 60 requests per minute per app per store
    config = definition(ZID).sync.syncConfiguration
    # Then the integration asks for at most one a second
    assert config.rateLimitPerSecond == 1


def test_resources_map_into_their_content_types():
    resources = definition(ZID).resources
    assert {key: r.contentType for key, r in resources.items()} == {
        "orders": "ecommerce:orders",
        "products": "core:product",
        "customers": "core:customer",
        "abandoned_carts": "ecommerce:carts",
        "shipments": "ecommerce:shipments",
    }


def test_orders_page_by_number_100_at_a_time_with_products():
    # Given the orders resource
    orders = definition(ZID).resources["orders"]
    # Then it lists /managers/store/orders with products, 100 per page, under "orders"
    assert orders.endpoints.list.url == "/managers/store/orders"
    assert orders.endpoints.list.params == {"payload_type": "default"}
    assert isinstance(orders.pagination, PageNumberPagination)
    assert (orders.pagination.pageParam, orders.pagination.paramName) == ("page", "per_page")
    assert orders.pagination.maxLimit == 100
    assert orders.responseMapping.dataProperty == "orders"


def test_order_details_are_the_view_endpoint_under_order():
    details = definition(ZID).resources["orders"].endpoints.details
    assert details is not None
    assert details.url == "/managers/store/orders/{id}/view"
    assert details.dataProperty == "order"


def test_orders_list_total_is_total_order_count():
    # Given the real orders list, whose total_order_count is 2689
    orders = definition(ZID).resources["orders"]
    body = sample(ZID, "samples/zid/orders_list.json")
    # Then that is the listing's total
    assert orders.responseMapping.total_in(body) == 2689


def test_products_follow_the_next_url_of_the_body():
    # Given the products resource
    products = definition(ZID).resources["products"]
    # Then it lists /products/ and follows the DRF "next" link, 50 per page at most
    assert products.endpoints.list.url == "/products/"
    assert isinstance(products.pagination, NextUrlPagination)
    assert products.pagination.nextUrlPath == "next"
    assert products.pagination.paramName == "page_size"
    assert products.pagination.maxLimit == 50
    assert products.responseMapping.dataProperty == "results"
    assert products.responseMapping.totalProperty == "count"


def test_products_list_total_is_count():
    # Given the real products list, whose count is 175
    products = definition(ZID).resources["products"]
    body = sample(ZID, "samples/zid/products_list.json")
    assert products.responseMapping.total_in(body) == 175


def test_customers_page_by_number_under_customers():
    customers = definition(ZID).resources["customers"]
    assert customers.endpoints.list.url == "/managers/store/customers"
    assert isinstance(customers.pagination, PageNumberPagination)
    assert customers.responseMapping.dataProperty == "customers"


def test_abandoned_carts_page_by_page_size_under_their_hyphenated_key():
    carts = definition(ZID).resources["abandoned_carts"]
    assert carts.endpoints.list.url == "/managers/store/abandoned-carts"
    assert isinstance(carts.pagination, PageNumberPagination)
    assert carts.pagination.paramName == "page_size"
    assert carts.pagination.maxLimit == 100
    assert carts.responseMapping.dataProperty == "abandoned-carts"


def test_incremental_orders_filter_on_the_updated_date():
    # Given the orders incremental block
    incremental = definition(ZID).resources["orders"].incremental
    assert incremental is not None
    # When the last sync ended at 2026-01-30 16:00:00 UTC
    query = incremental.query(datetime(2026, 1, 30, 16, 0, 0, tzinfo=UTC))
    # Then date_from is 10 minutes earlier and date_attribute selects updated_at
    assert query == {"date_from": "2026-01-30T15:50:00+00:00", "date_attribute": "updated_at"}
    assert incremental.recordUpdatedAt == "updated_at"


def test_resources_without_an_updated_filter_are_not_incremental():
    resources = definition(ZID).resources
    for key in ("products", "customers", "abandoned_carts"):
        assert resources[key].incremental is None, key


# --- webhooks: verification, event name, handlers and triggers ---------------------------------


def test_deliveries_are_verified_by_http_basic_credentials():
    webhook = definition(ZID).webhook
    assert webhook is not None
    assert isinstance(webhook.verification, BasicVerification)
    assert (webhook.verification.username, webhook.verification.password) == (
        "webhookUsername",
        "webhookPassword",
    )


def test_basic_credentials_are_declared_in_auth():
    auth = definition(ZID).auth
    assert auth is not None
    assert {"webhookUsername", "webhookPassword"} <= set(auth.credentials)


def test_event_name_is_the_event_query_parameter():
    # Given Zid bodies without an event field, and one target URL per event (...?event=order.create)
    webhook = definition(ZID).webhook
    assert webhook is not None
    # Then the event name is read from the query string
    assert isinstance(webhook.eventName, QueryValue)
    assert webhook.eventName.source == "query"
    assert webhook.eventName.name == "event"


def test_handled_events_are_zids_real_events():
    handlers = definition(ZID).handlers
    assert set(handlers) == ORDER_EVENTS | PRODUCT_EVENTS | CUSTOMER_EVENTS | CART_EVENTS


def test_handler_events_and_trigger_events_are_the_same_strings():
    # Given the handlers and the triggers
    defn = definition(ZID)
    handled = list(defn.handlers)
    triggered = [trigger.event for trigger in defn.triggers if trigger.transition is None]
    # Then every handler has exactly one trigger and every trigger but the transition ones a handler
    assert sorted(handled) == sorted(triggered)
    assert len(triggered) == len(set(triggered))


def test_triggers_name_the_entity_of_their_handler():
    defn = definition(ZID)
    entity = {"order": "Order", "product": "Product", "customer": "Customer", "cart": "Cart"}
    for trigger in defn.triggers:
        if trigger.transition is None:
            assert trigger.entityType == entity[defn.handlers[trigger.event].recordType], trigger.event


def test_handler_operations():
    operations = {event: h.operation for event, h in definition(ZID).handlers.items()}
    assert operations == {
        "order.create": "create",
        "order.status.update": "update",
        "order.payment_status.update": "update",
        "product.create": "create",
        "product.update": "upsert",
        "product.publish": "upsert",
        "product.delete": "delete",
        "customer.create": "create",
        "customer.update": "upsert",
        "abandoned_cart.created": "upsert",
        "abandoned_cart.completed": "upsert",
    }


# --- orders -----------------------------------------------------------------------------------


def test_order_create_maps_id_totals_currency_and_dates():
    # Given the order.create delivery (order 39018491: "100.00000000000000" SAR, created
    # "2026-01-30 15:56:02", updated "2026-01-30 15:56:06")
    order = map_event(ZID, "order.create")
    # Then the amounts are numbers and the UTC dates are ISO 8601
    assert order["code"] == "39018491"
    assert order["orderNumber"] == "39018491"
    assert order["totalAmount"] == 100.0
    assert order["currency"] == "SAR"
    assert order["createdAt"] == "2026-01-30T15:56:02Z"
    assert order["updatedAt"] == "2026-01-30T15:56:06Z"


def test_order_create_maps_status_and_payment():
    # Given order 39018491: order_status.code "new", payment_status "pending", bank transfer
    order = map_event(ZID, "order.create")
    assert order["status"] == "new"
    assert order["paymentStatus"] == "pending"
    assert order["paymentMethod"] == "zid_bank_transfer"
    assert order["attributes"]["statusName"] == "New"
    assert order["attributes"]["orderCode"] == "zrDH30DWiX"


def test_order_create_takes_subtotal_and_vat_from_the_invoice_lines():
    # Given the invoice lines sub_totals_before_vat "100.000..." and vat "0.000..." and no shipping
    order = map_event(ZID, "order.create")
    assert order["subtotalAmount"] == 100.0
    assert order["taxAmount"] == 0.0
    assert "shippingAmount" not in order


def test_order_create_names_the_buyer():
    # Given customer 257 "Test User 5", testuser5@example.com, mobile 966500000005
    customer = map_event(ZID, "order.create")["customer"]
    assert customer == {
        "code": "257",
        "name": "Test User 5",
        "email": "testuser5@example.com",
        "phone": "966500000005",
    }


def test_order_create_maps_its_line_item():
    # Given one product line: "نسخة من TrialProduct", quantity 1, price 100, total 100
    (item,) = map_event(ZID, "order.create")["items"]
    assert item["name"] == "نسخة من TrialProduct"
    assert item["quantity"] == 1
    assert item["code"] == "62262"
    assert item["productCode"] == "23edd6a6-3533-495d-8ffc-7f9e7c8c1f6a"
    assert item["sku"] == "Z.1.1723970467001006"
    assert item["unitPrice"] == 100.0
    assert item["totalAmount"] == 100.0
    assert item["imageUrl"] == "https://media.zid.store/static/missing_image.png"


def test_order_create_maps_the_shipping_address_and_invoice_url():
    order = map_event(ZID, "order.create")
    assert order["shippingAddress"] == {
        "line1": "street",
        "line2": "disc",
        "city": "Al Hariq",
        "postalCode": "000000",
        "country": "SA",
    }
    assert order["url"] == "https://teststore.zidtest.com/o/zrDH30DWiX/inv"


def test_order_status_update_is_a_partial_update_of_the_status():
    # Given order 39018292 now "preparing", updated "2026-01-28 20:46:29"
    update = map_event(ZID, "order.status.update")
    # Then only the code, the status and the change time are taken
    assert update == {"code": "39018292", "status": "preparing", "updatedAt": "2026-01-28T20:46:29Z"}


def test_order_payment_status_update_is_a_partial_update_of_the_payment_status():
    # Given order 39018491 now "paid", updated "2026-01-30 16:05:41"
    update = map_event(ZID, "order.payment_status.update")
    assert update == {"code": "39018491", "paymentStatus": "paid", "updatedAt": "2026-01-30T16:05:41Z"}


def test_orders_list_maps_the_three_orders():
    # Given the real orders list: 39018491 (100.00), 39018292 (223.56...), 39018232 (62395.80...)
    orders = map_list(ZID, "orders")
    assert [o["code"] for o in orders] == ["39018491", "39018292", "39018232"]
    assert [o["totalAmount"] for o in orders] == [100.0, 223.56000086523, 62395.800001873]
    assert [o["status"] for o in orders] == ["new", "preparing", "cancelled"]
    assert [o["createdAt"] for o in orders] == [
        "2026-01-30T15:56:02Z",
        "2026-01-21T13:01:46Z",
        "2026-01-20T10:27:53Z",
    ]


def test_orders_list_maps_the_buyer_of_each_order():
    # Given the third order, placed by customer 6 "Zid Test Customer"
    order = map_list(ZID, "orders")[2]
    assert order["customer"]["code"] == "6"
    assert order["customer"]["email"] == "testcustomer@example.com"
    assert order["customer"]["phone"] == "966500000006"
    assert order["currency"] == "SAR"


def test_simple_list_orders_have_no_lines():
    # Given the SDK's list fixture, fetched without payload_type=default: it has no products
    orders = map_list(ZID, "orders")
    assert all(order["items"] == [] for order in orders)


def test_order_details_maps_the_order_under_order():
    # Given the real {status, order} detail of 39018491
    order = map_details(ZID, "orders")
    assert order["code"] == "39018491"
    assert order["totalAmount"] == 100.0
    assert order["createdAt"] == "2026-01-30T15:56:02Z"
    assert [(i["name"], i["quantity"]) for i in order["items"]] == [("نسخة من TrialProduct", 1)]


# --- customer extraction -----------------------------------------------------------------------


def test_customer_extraction_lists_the_order_events():
    webhook = definition(ZID).webhook
    assert webhook is not None and webhook.customerExtraction is not None
    assert set(webhook.customerExtraction.events or []) == ORDER_EVENTS


def test_customer_extraction_of_an_order_gives_the_buyer():
    # Given the order.create delivery, whose customer is 257 Test User 5
    body = sample(ZID, ORDER_CREATE)
    # When the buyer is extracted
    outcome = extract_customer(definition(ZID), "order.create", body)
    # Then one core:customer with that email and phone comes out
    assert outcome is not None and not outcome.failures
    (customer,) = outcome.records
    assert customer["code"] == "257"
    assert customer["email"] == "testuser5@example.com"
    assert customer["phone"] == "966500000005"
    assert customer["fullName"] == "Test User 5"
    assert (customer["firstName"], customer["lastName"]) == ("Test", "User 5")


def test_customer_extraction_skips_a_guest_without_id():
    # Given an order delivery whose customer has no id
    body = copy.deepcopy(sample(ZID, ORDER_CREATE))
    body["customer"]["id"] = None
    # When the buyer is extracted
    outcome = extract_customer(definition(ZID), "order.create", body)
    # Then nothing comes out and nothing fails
    assert outcome is not None
    assert outcome.records == [] and outcome.failures == []


def test_no_customer_is_extracted_from_product_events():
    body = sample(ZID, "samples/zid/product_create.json")
    assert extract_customer(definition(ZID), "product.create", body) is None


# --- products ---------------------------------------------------------------------------------


def test_product_create_maps_the_product_model():
    # Given the voucher product: name {"ar": "قسيمة", "en": "voucher"}, price 100 SAR, 4 in stock
    product = map_event(ZID, "product.create")
    assert product["code"] == "a1477bb2-72ea-4be9-b2cf-093cefc721bb"
    assert product["name"] == "voucher"
    assert product["sku"] == "Z.1770805225810645"
    assert product["unitPrice"] == 100.0
    assert product["currency"] == "SAR"
    assert product["quantity"] == 4
    assert product["status"] == "published"
    assert product["categories"] == ["Electronics"]
    assert product["tags"] == ["voucher"]
    assert product["createdAt"] == "2026-02-11T10:20:25.813306Z"
    assert product["attributes"]["nameAr"] == "قسيمة"


def test_product_without_sale_price_or_description_leaves_them_out():
    # Given sale_price null and short_description {"ar": "", "en": ""}
    product = map_event(ZID, "product.create")
    assert "salePrice" not in product
    assert "description" not in product


def test_product_update_falls_back_to_the_arabic_name():
    # Given a product whose name is only {"ar": "بخاخ منظف كاربوريتر"}
    product = map_event(ZID, "product.update")
    assert product["code"] == "2829a483-4336-43ab-a855-84532c9419c2"
    assert product["name"] == "بخاخ منظف كاربوريتر"
    assert product["unitPrice"] == 9.0
    assert product["quantity"] == 0


def test_product_update_maps_images_and_milliseconds_dates():
    # Given one image (full_size .../d464301e-full.jpg) and dates "2025-12-15T10:31:18.988Z",
    # "2026-01-20T08:15:30.123Z"
    product = map_event(ZID, "product.update")
    assert product["imageUrl"] == "https://media.zid.store/thumbs/d464301e-full.jpg"
    assert product["images"] == ["https://media.zid.store/thumbs/d464301e-full.jpg"]
    assert product["createdAt"] == "2025-12-15T10:31:18.988000Z"
    assert product["updatedAt"] == "2026-01-20T08:15:30.123000Z"


def test_product_publish_upserts_the_product():
    product = map_event(ZID, "product.publish")
    assert (product["code"], product["name"], product["status"]) == (
        "a1477bb2-72ea-4be9-b2cf-093cefc721bb",
        "voucher",
        "published",
    )


def test_product_delete_yields_the_code_and_deleted():
    # Given the product.delete delivery for 2829a483-...
    record = map_event(ZID, "product.delete")
    assert record == {"code": "2829a483-4336-43ab-a855-84532c9419c2", "deleted": True}


def test_products_list_maps_both_products():
    products = map_list(ZID, "products")
    assert [(p["code"], p["name"], p["unitPrice"]) for p in products] == [
        ("a1477bb2-72ea-4be9-b2cf-093cefc721bb", "voucher", 100.0),
        ("2829a483-4336-43ab-a855-84532c9419c2", "بخاخ منظف كاربوريتر", 9.0),
    ]


# --- customers --------------------------------------------------------------------------------


def test_customers_list_maps_all_25_customers_with_email_and_phone():
    customers = map_list(ZID, "customers")
    assert len(customers) == 25
    assert customers[-1]["email"] == "testuser25@example.com"
    assert customers[-1]["phone"] == "966500000025"


def test_customers_list_maps_the_first_customer():
    # Given customer 218 "Test User 1", male, born 1999-05-05, in Riyadh (SA)
    customer = map_list(ZID, "customers")[0]
    assert customer["code"] == "218"
    assert customer["email"] == "testuser1@example.com"
    assert customer["phone"] == "966500000001"
    assert customer["fullName"] == "Test User 1"
    assert customer["gender"] == "male"
    assert customer["birthday"] == "1999-05-05T00:00:00Z"
    assert (customer["city"], customer["country"]) == ("Riyadh", "SA")
    assert customer["createdAt"] == "2021-01-19T12:24:26Z"
    assert customer["updatedAt"] == "2026-01-14T16:10:20Z"


def test_customers_list_keeps_zid_extras_as_attributes():
    # Given order_total_payments "17326.58" and last_order_date "2026-01-14 15:35:44"
    attributes = map_list(ZID, "customers")[0]["attributes"]
    assert attributes["orderTotalPayments"] == 17326.58
    assert attributes["lastOrderDate"] == "2026-01-14T15:35:44Z"
    assert attributes["type"] == "business"
    assert attributes["businessName"] == "Test Business 1"


def test_customer_create_maps_the_customer_model():
    customer = map_event(ZID, "customer.create")
    assert (customer["code"], customer["email"], customer["phone"]) == (
        "218",
        "testuser1@example.com",
        "966500000001",
    )


def test_customer_update_maps_the_customer_model():
    # Given customer 257 "Test User 5" in Al Hariq, updated 2026-01-30T15:56:12.000000Z, no gender
    customer = map_event(ZID, "customer.update")
    assert customer["code"] == "257"
    assert customer["city"] == "Al Hariq"
    assert customer["updatedAt"] == "2026-01-30T15:56:12Z"
    assert "gender" not in customer


# --- abandoned carts --------------------------------------------------------------------------


def test_abandoned_cart_created_maps_the_cart():
    # Given cart 18a40fc6-...: cart_total "478.00", phase payment_method, created "2026-01-27 18:42:10"
    cart = map_event(ZID, "abandoned_cart.created")
    assert cart["code"] == "18a40fc6-2381-4ab2-9f72-467e6c39a599"
    assert cart["totalAmount"] == 478.0
    assert cart["status"] == "payment_method"
    assert cart["checkoutUrl"] == (
        "https://store.zidtest.com/checkout/fromBasket/WS56eLg6j2J2KAFB6KkX0B3uJSs3oINu"
    )
    assert cart["createdAt"] == "2026-01-27T18:42:10Z"
    assert cart["updatedAt"] == "2026-01-27T18:52:10Z"


def test_abandoned_cart_created_names_the_buyer():
    customer = map_event(ZID, "abandoned_cart.created")["customer"]
    assert customer == {
        "code": "000000000",
        "name": "test customer name",
        "email": "testemail@gmail.com",
        "phone": "966555555555",
    }


def test_abandoned_cart_created_maps_its_line():
    # Given 2 x "AlSamra honey " at 239.000935, total 478.00187
    (item,) = map_event(ZID, "abandoned_cart.created")["items"]
    assert item["name"] == "AlSamra honey"
    assert item["quantity"] == 2
    assert item["sku"] == "HJRMR0500R"
    assert item["unitPrice"] == 239.000935
    assert item["totalAmount"] == 478.00187


def test_abandoned_cart_completed_carries_the_completed_phase_and_order():
    cart = map_event(ZID, "abandoned_cart.completed")
    assert cart["status"] == "completed"
    assert cart["attributes"]["orderId"] == "39018512"
    assert cart["updatedAt"] == "2026-01-27T19:05:37Z"


def test_abandoned_carts_list_maps_the_summaries():
    carts = map_list(ZID, "abandoned_carts")
    assert [(c["code"], c["totalAmount"], c["currency"]) for c in carts] == [
        ("b978fcc2-ccd0-45f6-81a7-7ab1f3b8f85d", 38.0182984840272, "EGP"),
        ("0b130951-5a6b-4420-beca-0b130951bff0", 239.000935, "SAR"),
    ]
    assert carts[1]["customer"]["email"] == "test@mail.com"
    assert carts[1]["attributes"]["remindersCount"] == 1


def test_abandoned_cart_details_maps_the_products():
    cart = map_details(ZID, "abandoned_carts")
    assert cart["code"] == "b978fcc2-ccd0-45f6-81a7-7ab1f3b8f85d"
    (item,) = cart["items"]
    assert (item["name"], item["quantity"], item["productCode"]) == (
        "Test recurring",
        1,
        "b2dd7116dd724f7fb10cac7e85b34655",
    )
    assert cart["attributes"]["city"] == "Riyadh"
