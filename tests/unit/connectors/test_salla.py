"""The shipped Salla connector: its definition, and its samples mapped into canonical records.

Every expected value below was read by hand from the sample JSON under
shared/mercator/connectors/samples/salla/ (the comments say where). Salla date objects are
Asia/Riyadh (UTC+3), so 12:21:45 there is 09:21:45Z.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mercator.connector.checklist import check
from mercator.connector.mapper import extract_customer, map_delivery
from mercator.connector.pagination import PageNumberPagination
from mercator.connector.webhook import HmacVerification
from tests.unit.connectors.support import definition, map_details, map_event, map_list, sample

SALLA = "salla"
ORDER_CREATED = "samples/salla/order_created.json"
ABANDONED_CART = "samples/salla/abandoned_cart.json"


# --- the definition -------------------------------------------------------------------------


def test_definition_passes_the_submission_checklist():
    # Given the shipped Salla definition
    defn = definition(SALLA)
    # When the submission checklist runs over it and its samples
    findings = check(defn)
    # Then nothing is reported
    assert findings == []


def test_auth_is_oauth2_with_refresh_at_salla_accounts():
    # Given the Salla definition
    auth = definition(SALLA).auth
    # Then it authorizes through Salla's OAuth 2.0 endpoints with a refreshable token
    assert auth is not None and auth.type == "oauth2"
    assert str(auth.authorizeUrl) == "https://accounts.salla.sa/oauth2/auth"
    assert str(auth.tokenUrl) == "https://accounts.salla.sa/oauth2/token"
    assert auth.scopes == ["offline_access"]
    assert auth.auto_refresh is True


def test_sync_calls_the_admin_api_with_the_bearer_token():
    # Given the Salla sync block
    sync = definition(SALLA).sync
    # Then calls go to the Merchant API v2 with the OAuth access token
    assert sync.baseUrl == "https://api.salla.dev/admin/v2"
    assert sync.headers["Authorization"] == "Bearer [[accessToken]]"


def test_rate_limit_fits_120_requests_a_minute():
    # Given Salla's basic-plan limit of 120 requests per minute per store
    config = definition(SALLA).sync.syncConfiguration
    # Then the integration asks for at most 2 a second
    assert config.rateLimitPerSecond == 2


def test_every_resource_pages_by_page_number_60_at_a_time():
    # Given the five Salla resources
    resources = definition(SALLA).resources
    assert set(resources) == {"products", "customers", "orders", "abandoned_carts", "shipments"}
    for resource in resources.values():
        # Then each pages with page/per_page, at most 60, with the page count in the envelope
        pagination = resource.pagination
        assert isinstance(pagination, PageNumberPagination)
        assert (pagination.pageParam, pagination.paramName) == ("page", "per_page")
        assert pagination.maxLimit == 60
        assert pagination.totalPagesProperty == "pagination.totalPages"
        assert resource.responseMapping.dataProperty == "data"
        assert resource.responseMapping.totalProperty == "pagination.total"
        assert resource.endpoints.details is not None
        assert resource.endpoints.details.dataProperty == "data"


def test_resources_map_into_their_content_types():
    resources = definition(SALLA).resources
    assert resources["products"].contentType == "core:product"
    assert resources["customers"].contentType == "core:customer"
    assert resources["orders"].contentType == "ecommerce:orders"
    assert resources["abandoned_carts"].contentType == "ecommerce:carts"
    assert resources["shipments"].contentType == "ecommerce:shipments"


def test_list_total_is_read_from_the_pagination_block():
    # Given the orders list sample, whose pagination.total is 2
    resource = definition(SALLA).resources["orders"]
    body = sample(SALLA, "samples/salla/orders_list.json")
    # When the total is read
    # Then it is that number
    assert resource.responseMapping.total_in(body) == 2


def test_incremental_orders_relist_orders_created_since_the_cursor_day() -> None:
    # Given Salla filters orders only by creation date (from_date, a date in the store's zone)
    incremental = definition(SALLA).resources["orders"].incremental
    assert incremental is not None
    # When the cursor is 2024-05-02 01:30 UTC (04:30 in Riyadh, UTC+3), less one day of overlap
    query = incremental.query(datetime(2024, 5, 2, 1, 30, tzinfo=UTC))
    # Then the run lists orders created from 2024-05-01 (Riyadh) on
    assert query == {"from_date": "2024-05-01"}
    assert incremental.recordUpdatedAt == "date"


def test_resources_without_a_sort_or_date_filter_are_not_incremental():
    resources = definition(SALLA).resources
    assert resources["products"].incremental is None
    assert resources["customers"].incremental is None
    assert resources["abandoned_carts"].incremental is None


def test_handler_events_and_trigger_events_are_the_same_strings():
    # Given the handlers and the triggers that are not transitions (those name no webhook event)
    defn = definition(SALLA)
    triggered = [trigger.event for trigger in defn.triggers if trigger.transition is None]
    # Then each handled event has exactly one trigger, and each trigger a handler
    assert len(triggered) == len(set(triggered))
    assert set(defn.handlers) == set(triggered)
    assert set(defn.handlers) == {
        "order.created",
        "order.updated",
        "order.status.updated",
        "order.deleted",
        "product.created",
        "product.updated",
        "product.price.updated",
        "product.deleted",
        "customer.created",
        "customer.updated",
        "customer.login",
        "abandoned.cart",
        "abandoned.cart.purchased",
        "shipment.creating",
        "shipment.created",
        "shipment.updated",
        "shipment.cancelled",
    }


def test_the_three_transition_triggers_of_every_connector():
    # Given the triggers with a transition
    transitions = {
        trigger.event: (trigger.entityType, trigger.transition)
        for trigger in definition(SALLA).triggers
        if trigger.transition is not None
    }
    # Then they are the order's and the shipment's status moving, and a shipment becoming delivered
    assert set(transitions) == {"order_status_changed", "shipment_status_changed", "shipment_delivered"}
    entity, moved = transitions["shipment_delivered"]
    assert (entity, moved.field, moved.from_, moved.to) == ("Shipment", "status", None, "delivered")
    entity, moved = transitions["order_status_changed"]
    assert (entity, moved.field, moved.to) == ("Order", "status", None)
    entity, moved = transitions["shipment_status_changed"]
    assert (entity, moved.field, moved.to) == ("Shipment", "status", None)


def test_triggers_name_the_entity_of_their_handler():
    # Given each trigger and the record type of its handler
    defn = definition(SALLA)
    entity_of = {
        "order": "Order",
        "product": "Product",
        "customer": "Customer",
        "cart": "Cart",
        "shipment": "Shipment",
    }
    for trigger in defn.triggers:
        if trigger.transition is not None:
            continue
        # Then the trigger's entity is the handler's record type
        assert trigger.entityType == entity_of[defn.handlers[trigger.event].recordType]


def test_handler_operations():
    handlers = definition(SALLA).handlers
    operations = {event: handler.operation for event, handler in handlers.items()}
    assert operations["order.created"] == "create"
    assert operations["order.updated"] == "upsert"
    assert operations["order.status.updated"] == "update"
    assert operations["order.deleted"] == "delete"
    assert operations["product.price.updated"] == "update"
    assert operations["product.deleted"] == "delete"
    assert operations["customer.login"] == "upsert"


def test_deliveries_are_verified_by_hex_hmac_sha256_in_x_salla_signature():
    # Given the webhook block
    webhook = definition(SALLA).webhook
    assert webhook is not None
    verification = webhook.verification
    # Then deliveries are checked with Salla's Signature strategy over the raw body
    assert isinstance(verification, HmacVerification)
    assert verification.header == "X-Salla-Signature"
    assert verification.algorithm == "sha256"
    assert verification.encoding == "hex"
    assert verification.signedContent == "body"
    assert verification.prefix == ""


def test_event_name_is_the_body_event_field():
    webhook = definition(SALLA).webhook
    assert webhook is not None and webhook.eventName is not None
    assert webhook.eventName.source == "body"
    assert webhook.eventName.path == "event"


# --- orders -----------------------------------------------------------------------------------


def test_order_created_maps_id_total_currency_and_date():
    # Given order_created.json: data.id 2116149737, reference_id 41027662, status.slug under_review,
    # amounts.total 196 SAR, date 2022-06-26 12:21:45 Asia/Riyadh
    # When the order.created handler maps it
    order = map_event(SALLA, "order.created")
    # Then
    assert order["code"] == "2116149737"
    assert order["orderNumber"] == "41027662"
    assert order["status"] == "under_review"
    assert order["totalAmount"] == 196
    assert order["currency"] == "SAR"
    assert order["createdAt"] == "2022-06-26T09:21:45Z"
    assert order["paymentMethod"] == "bank"


def test_order_created_maps_the_amounts_and_discount_code():
    # Given amounts: sub_total 186, shipping_cost 15, tax.amount 0, one discount "new offer" of "5.00"
    order = map_event(SALLA, "order.created")
    assert order["subtotalAmount"] == 186
    assert order["shippingAmount"] == 15
    assert order["taxAmount"] == 0
    assert order["discountAmount"] == 5
    assert order["discountCodes"] == "new offer"


def test_order_created_names_the_buyer():
    # Given data.customer: id 225167971, Mohammed Ali, mobile_code +966, mobile 501806978
    order = map_event(SALLA, "order.created")
    assert order["customer"] == {
        "code": "225167971",
        "name": "Mohammed Ali",
        "firstName": "Mohammed",
        "lastName": "Ali",
        "email": "usertest@gmail.com",
        "phone": "+966501806978",
    }


def test_order_created_maps_its_line_item():
    # Given the one item: id 70815337, بيتزا, sku 54534534, quantity 1, product.id 720881993,
    # amounts.price_without_tax 186 and amounts.total 186
    (item,) = map_event(SALLA, "order.created")["items"]
    assert item["name"] == "بيتزا"
    assert item["quantity"] == 1
    assert item["code"] == "70815337"
    assert item["productCode"] == "720881993"
    assert item["sku"] == "54534534"
    assert item["unitPrice"] == 186
    assert item["totalAmount"] == 186
    assert item["imageUrl"] == "https://cdn.salla.sa/bYQEn/buItWZf4OLbaTmL7vTMlDUWLOn20hfpq3QUbD2AB.jpg"


def test_order_created_maps_the_shipping_address():
    # Given shipping.receiver (Mohammed Ali, 999123456789) and shipping.address (جدة, SA, empty postal code)
    address = map_event(SALLA, "order.created")["shippingAddress"]
    assert address["name"] == "Mohammed Ali"
    assert address["city"] == "جدة"
    assert address["country"] == "SA"
    assert address["phone"] == "999123456789"
    assert "postalCode" not in address


def test_order_updated_upserts_the_whole_order_stamped_with_the_event_time():
    # Given the order model (shared by every order event) and the envelope created_at
    # "Sun Jun 26 2022 12:21:48 GMT+0300"
    # When order.updated maps it
    order = map_event(SALLA, "order.updated")
    # Then the full order comes out, last updated at the event time
    assert order["code"] == "2116149737"
    assert order["totalAmount"] == 196
    assert order["updatedAt"] == "2022-06-26T09:21:48Z"


def test_order_status_updated_is_a_partial_update_of_the_status():
    # Given an order event whose status.slug is under_review
    # When order.status.updated maps it
    record = map_event(SALLA, "order.status.updated")
    # Then only the code, the status and the event time are updated
    assert record == {"code": "2116149737", "status": "under_review", "updatedAt": "2022-06-26T09:21:48Z"}


def test_order_deleted_yields_the_code_and_deleted():
    # Given order_deleted.json (the order model with event order.deleted), data.id 2116149737
    # When the delete handler maps it
    record = map_event(SALLA, "order.deleted")
    # Then only the code is kept, flagged deleted
    assert record == {"code": "2116149737", "deleted": True}


def test_orders_list_maps_the_light_list_records():
    # Given orders_list.json: 1017120475 (55 SAR, under_review, 2022-06-16 14:48:20 Riyadh, one
    # "تي شيرت بلاك") and 1013578136 (0 SAR, canceled, 2022-06-16 14:46:42, 3 x "Custom Shirt")
    first, second = map_list(SALLA, "orders")
    assert (first["code"], first["orderNumber"], first["totalAmount"]) == ("1017120475", "40497536", 55)
    assert (first["status"], first["currency"]) == ("under_review", "SAR")
    assert first["createdAt"] == "2022-06-16T11:48:20Z"
    assert [(i["name"], i["quantity"]) for i in first["items"]] == [("تي شيرت بلاك", 1)]
    assert (second["code"], second["totalAmount"], second["status"]) == ("1013578136", 0, "canceled")
    assert second["createdAt"] == "2022-06-16T11:46:42Z"
    assert [(i["name"], i["quantity"]) for i in second["items"]] == [("Custom Shirt", 3)]


def test_order_details_maps_amounts_dates_and_buyer():
    # Given order_details.json: id 418149270, completed, total 302.5 SAR, sub_total 250,
    # shipping 13.04, tax 39.46, coupon kb123 of "15.00", date 08:23:05 and updated_at 11:23:05 Riyadh,
    # customer أحمد Conn +966 501724227
    order = map_details(SALLA, "orders")
    assert order["code"] == "418149270"
    assert order["status"] == "completed"
    assert order["totalAmount"] == 302.5
    assert (order["subtotalAmount"], order["shippingAmount"], order["taxAmount"]) == (250, 13.04, 39.46)
    assert (order["discountAmount"], order["discountCodes"]) == (15, "kb123")
    assert order["createdAt"] == "2024-02-15T05:23:05Z"
    assert order["updatedAt"] == "2024-02-15T08:23:05Z"
    assert order["customer"]["phone"] == "+966501724227"
    assert order["shippingAddress"]["name"] == "أحمد Conn"
    assert order["paymentMethod"] == "mada"


# --- products ---------------------------------------------------------------------------------


def test_product_created_maps_the_product_model():
    # Given product_created.json: id 1025569331, price/regular_price 299 SAR, sale_price 0,
    # quantity 20, status hidden, sku "", updated_at "2023-04-17 12:14:21" (store time, Riyadh)
    product = map_event(SALLA, "product.created")
    assert product["code"] == "1025569331"
    assert product["name"] == "Product-Booking-API-Date-and-Time"
    assert product["unitPrice"] == 299
    assert product["currency"] == "SAR"
    assert product["quantity"] == 20
    assert product["status"] == "hidden"
    assert product["updatedAt"] == "2023-04-17T09:14:21Z"
    assert (
        product["url"]
        == "https://salla.sa/dev-wofftr4xsra5xtlv/product-booking-api-date-and-time/p1025569331"
    )


def test_product_sale_price_zero_means_no_sale_and_empty_sku_means_none():
    # Given sale_price {amount: 0} and sku "" in product_created.json
    product = map_event(SALLA, "product.created")
    # Then neither is carried as a value
    assert "salePrice" not in product
    assert "sku" not in product


def test_product_updated_upserts_the_same_product_model():
    product = map_event(SALLA, "product.updated")
    assert (product["code"], product["unitPrice"], product["status"]) == ("1025569331", 299, "hidden")


def test_product_price_updated_is_a_partial_price_update():
    # Given product_price_updated.json: id 1462551237, sku PRO-7644, price 150, regular_price 150,
    # sale_price {amount: 85}, currency SAR, envelope created_at Sun Dec 14 2025 11:41:40 GMT+0300
    record = map_event(SALLA, "product.price.updated")
    # Then only the price fields (and the code) are updated
    assert record == {
        "code": "1462551237",
        "sku": "PRO-7644",
        "unitPrice": 150,
        "salePrice": 85,
        "currency": "SAR",
        "updatedAt": "2025-12-14T08:41:40Z",
    }


def test_product_deleted_yields_the_code_and_deleted():
    assert map_event(SALLA, "product.deleted") == {"code": "1025569331", "deleted": True}


def test_products_list_maps_prices_quantities_and_categories():
    # Given products_list.json: T-Shirt 1672932878 (regular 100, sale 0, quantity "50") and
    # تنورة 1994210129 (regular 159, sale 79, quantity 1, category الفساتين, five images)
    shirt, skirt = map_list(SALLA, "products")
    assert (shirt["code"], shirt["name"], shirt["unitPrice"], shirt["quantity"]) == (
        "1672932878",
        "T-Shirt",
        100,
        50,
    )
    assert "salePrice" not in shirt
    assert shirt["updatedAt"] == "2024-03-06T10:50:32Z"
    assert (skirt["code"], skirt["unitPrice"], skirt["salePrice"]) == ("1994210129", 159, 79)
    assert skirt["sku"] == "45344432343"
    assert skirt["categories"] == ["الفساتين"]
    assert len(skirt["images"]) == 5
    assert skirt["updatedAt"] == "2022-02-06T08:45:30Z"


def test_product_details_maps_the_record_under_data():
    # Given product_details.json: data.id 1672932878, sku 23-TD23-32, quantity 0, gtin 58636897
    product = map_details(SALLA, "products")
    assert (product["code"], product["sku"], product["quantity"]) == ("1672932878", "23-TD23-32", 0)
    assert product["attributes"]["gtin"] == "58636897"


# --- customers --------------------------------------------------------------------------------


def test_customer_login_maps_the_customer_profile():
    # Given customer_login.json: id 225167971, User Mohammed, +966 555555555, test@gmail.com,
    # female, country_code SA, updated_at 2022-01-24 14:26:55 Riyadh
    customer = map_event(SALLA, "customer.login")
    assert customer["code"] == "225167971"
    assert customer["email"] == "test@gmail.com"
    assert customer["phone"] == "+966555555555"
    assert (customer["firstName"], customer["lastName"]) == ("User", "Mohammed")
    assert customer["fullName"] == "User Mohammed"
    assert customer["gender"] == "female"
    assert customer["country"] == "SA"
    assert customer["updatedAt"] == "2022-01-24T11:26:55Z"


def test_customer_created_and_updated_share_the_customer_login_model():
    created = map_event(SALLA, "customer.created")
    updated = map_event(SALLA, "customer.updated")
    assert created["code"] == updated["code"] == "225167971"
    assert created["email"] == updated["email"] == "test@gmail.com"


def test_customers_list_joins_country_code_and_mobile():
    # Given customers_list.json: Ahmed Ali and Ali Ahmed (the docs' older example), mobile_code "967",
    # mobile 777777777, updated_at 2020-04-02 22:43:26 Riyadh, after the docs' current customer
    _, ahmed, ali = map_list(SALLA, "customers")
    assert (ahmed["code"], ahmed["fullName"], ahmed["email"]) == (
        "2075683582",
        "Ahmed Ali",
        "ahmedali@test.test",
    )
    assert ahmed["phone"] == "+967777777777"
    assert ahmed["updatedAt"] == "2020-04-02T19:43:26Z"
    assert ahmed["attributes"]["groupIds"] == [11323141, 11323142]
    assert (ali["code"], ali["email"]) == ("2075683581", "aliahmed@test.test")


def test_customer_country_is_the_code_never_the_name():
    # Given the docs' current List Customers item: country "السعودية | Saudi Arabia", country_code "SA"
    current, ahmed, _ = map_list(SALLA, "customers")
    assert (current["code"], current["country"]) == ("234324533", "SA")
    assert current["attributes"]["currency"] == "SAR"
    # and the older example without country_code: no country rather than the name, which webhooks
    # write differently ("السعودية") and which would stand against the code another path stores
    assert "country" not in ahmed
    # nor for a cart's buyer, who has a country name and no code
    cart = sample(SALLA, "samples/salla/abandoned_cart.json")
    buyer = extract_customer(definition(SALLA), "abandoned.cart", cart)
    assert buyer is not None
    assert "country" not in buyer.records[0]


def test_customer_details_reads_a_plain_updated_at_as_riyadh_time():
    # Given customer_details.json: updated_at "2020-01-01 01:01:00.000000" (no zone), country_code "sa",
    # mobile_code "+999", mobile 665323256199
    customer = map_details(SALLA, "customers")
    assert customer["code"] == "2107468057"
    assert customer["updatedAt"] == "2019-12-31T22:01:00Z"
    assert customer["country"] == "SA"
    assert customer["phone"] == "+999665323256199"


# --- abandoned carts --------------------------------------------------------------------------


def test_abandoned_cart_maps_total_buyer_coupon_and_dates():
    # Given abandoned_cart.json: id 1097962121, total 100 SAR, coupon wizefriend, checkout_url,
    # created_at 2025-01-21 17:09:39 Riyadh, customer User Name +977612917082 customer@email.com
    cart = map_event(SALLA, "abandoned.cart")
    assert cart["code"] == "1097962121"
    assert (cart["totalAmount"], cart["currency"]) == (100, "SAR")
    assert cart["couponCodes"] == "wizefriend"
    assert cart["checkoutUrl"] == "https://salla.sa/dev-wofftr4xsra5xtlv/checkout/1097962121"
    assert cart["createdAt"] == "2025-01-21T14:09:39Z"
    assert cart["customer"] == {
        "code": "225167971",
        "name": "User Name",
        "email": "customer@email.com",
        "phone": "+977612917082",
    }
    assert "status" not in cart


def test_abandoned_cart_lines_are_identified_by_product():
    # Given two cart items with id, product_id and quantity only (no name)
    cart = map_event(SALLA, "abandoned.cart")
    # Then they are cart lines keyed by their product
    assert cart["items"] == [
        {"code": "1793843311", "productCode": "401511871", "quantity": 2},
        {"code": "239847784", "productCode": "64738276", "quantity": 1},
    ]
    assert (cart["attributes"]["subtotal"], cart["attributes"]["totalDiscount"]) == (60, 10)


def test_abandoned_cart_purchased_marks_the_cart_purchased():
    cart = map_event(SALLA, "abandoned.cart.purchased")
    assert (cart["code"], cart["status"]) == ("1097962121", "purchased")


def test_abandoned_carts_list_maps_carts_with_and_without_coupon():
    # Given abandoned_carts_list.json: 1097962121 (coupon wizefriend) and 1402345617 (249.5 SAR, no coupon)
    first, second = map_list(SALLA, "abandoned_carts")
    assert (first["code"], first["couponCodes"]) == ("1097962121", "wizefriend")
    assert (second["code"], second["totalAmount"]) == ("1402345617", 249.5)
    assert "couponCodes" not in second
    assert second["updatedAt"] == "2025-01-20T06:40:11Z"


def test_abandoned_cart_details_carries_its_status():
    # Given abandoned_cart_details.json with status purchased
    cart = map_details(SALLA, "abandoned_carts")
    assert (cart["code"], cart["status"]) == ("1402345617", "purchased")


# --- customer extraction ----------------------------------------------------------------------


def test_customer_extraction_of_an_order_gives_the_buyer():
    # Given the order.created delivery, whose data.customer is usertest@gmail.com, +966 501806978
    defn = definition(SALLA)
    body = sample(SALLA, ORDER_CREATED)
    # When the buyer is extracted
    outcome = extract_customer(defn, "order.created", body)
    # Then one core:customer with that email and phone comes out
    assert outcome is not None and not outcome.failures
    (customer,) = outcome.records
    assert customer["code"] == "225167971"
    assert customer["email"] == "usertest@gmail.com"
    assert customer["phone"] == "+966501806978"
    assert customer["fullName"] == "Mohammed Ali"
    assert customer["updatedAt"] == "2022-06-22T07:20:14Z"


def test_customer_extraction_of_an_abandoned_cart_gives_the_buyer():
    # Given the abandoned.cart delivery, whose data.customer has name "User Name" and an international mobile
    outcome = extract_customer(definition(SALLA), "abandoned.cart", sample(SALLA, ABANDONED_CART))
    assert outcome is not None and not outcome.failures
    (customer,) = outcome.records
    assert (customer["code"], customer["email"]) == ("225167971", "customer@email.com")
    assert customer["phone"] == "+977612917082"
    assert customer["fullName"] == "User Name"


def test_customer_extraction_lists_the_order_and_cart_events():
    webhook = definition(SALLA).webhook
    assert webhook is not None and webhook.customerExtraction is not None
    assert set(webhook.customerExtraction.events or []) == {
        "order.created",
        "order.updated",
        "order.status.updated",
        "abandoned.cart",
        "abandoned.cart.purchased",
    }


def test_no_customer_is_extracted_from_product_events():
    body = sample(SALLA, "samples/salla/product_created.json")
    assert extract_customer(definition(SALLA), "product.created", body) is None


def test_a_delete_needs_nothing_but_the_id():
    # Given a thin order.deleted body with only data.id
    outcome = map_delivery(definition(SALLA), "order.deleted", {"event": "order.deleted", "data": {"id": 42}})
    # Then it still yields the code, deleted
    assert outcome.records == [{"code": "42", "deleted": True}]
