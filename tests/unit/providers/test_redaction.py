"""Credentials never reach a message, a log record or a stored checkpoint."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from mercator.domain.provider_errors import ProviderError, ProviderHTTPError, ProviderTimeoutError
from mercator.providers.redaction import MASK, Redactor, looks_secret
from tests.unit.providers.conftest import RecordingLimiter, connector, json_response, make_client, resource

TOKEN = "shpat_0123456789abcdef"
SHOP = "secret-shop.myshopify.com"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor({"accessToken": TOKEN, "shopDomain": SHOP, "storeId": "77", "empty": ""})


def test_known_values_are_masked_in_free_text(redactor: Redactor) -> None:
    text = f"token {TOKEN} for https://{SHOP}/admin and store 77 on page 177"
    assert redactor.text(text) == f"token {MASK} for https://{MASK}/admin and store {MASK} on page 177"


def test_url_encoded_values_are_masked_too() -> None:
    secret = "a+b/c=d&e"
    redactor = Redactor({"secret": secret})
    encoded = "https://x.example/path?state=a%2Bb%2Fc%3Dd%26e"
    assert secret not in redactor.url(encoded)
    assert "a%2Bb%2Fc%3Dd%26e" not in redactor.url(encoded)


def test_secret_looking_query_params_are_masked_even_when_unknown(redactor: Redactor) -> None:
    url = "https://api.example.com/orders?page=2&access_token=zzz999&consumer_key=ck_1&Signature=abc&limit=50"
    assert redactor.url(url) == (
        f"https://api.example.com/orders?page=2&access_token={MASK}&consumer_key={MASK}"
        f"&Signature={MASK}&limit=50"
    )


def test_user_info_in_a_url_is_masked(redactor: Redactor) -> None:
    assert (
        redactor.url("https://ck_user:cs_pass@shop.example/wp-json") == f"https://{MASK}@shop.example/wp-json"
    )


def test_headers_whose_names_look_secret_are_masked_whole(redactor: Redactor) -> None:
    headers = {
        "Authorization": "Bearer something-unknown",
        "X-Shopify-Access-Token": "unknown-too",
        "X-Api-Key": "k",
        "Accept": "application/json",
        "X-Store": f"store {SHOP}",
    }
    assert redactor.headers(headers) == {
        "Authorization": MASK,
        "X-Shopify-Access-Token": MASK,
        "X-Api-Key": MASK,
        "Accept": "application/json",
        "X-Store": f"store {MASK}",
    }


def test_bearer_and_basic_values_in_text_are_masked() -> None:
    redactor = Redactor({})
    assert redactor.text("sent Authorization: Bearer abc.def-ghi-jkl") == f"sent Authorization: Bearer {MASK}"
    assert redactor.text("basic Basic dXNlcjpwYXNzd29yZA==") == f"basic Basic {MASK}"
    assert redactor.text("a Basic plan") == "a Basic plan"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("authorization", True),
        ("X-Shopify-Access-Token", True),
        ("consumer_secret", True),
        ("api_key", True),
        ("X-WC-Webhook-Signature", True),
        ("password", True),
        ("page", False),
        ("per_page", False),
        ("updated_at_min", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_templatize_puts_placeholders_back(redactor: Redactor) -> None:
    assert redactor.templatize(f"https://{SHOP}/orders?t={TOKEN}&page=177") == (
        "https://[[shopDomain]]/orders?t=[[accessToken]]&page=177"
    )


# Through the client: a 401, a 404, a retried 503 and a timeout


def shopify_like() -> tuple[dict[str, str], object]:
    definition = connector(
        resource("orders", endpoints={"list": {"url": "/orders.json", "params": {"api_key": "[[apiKey]]"}}}),
        auth={"type": "api_key", "credentials": ["accessToken", "shopDomain", "apiKey"]},
        base_url="https://[[shopDomain]]/admin/api/2025-01",
        headers={"X-Shopify-Access-Token": "[[accessToken]]"},
    )
    credentials = {"accessToken": TOKEN, "shopDomain": SHOP, "apiKey": "key_ABCDEFGH"}
    return credentials, definition


def echoing(status: int) -> httpx.Response:
    # Providers do echo what they were sent; the excerpt must still come out clean.
    return httpx.Response(status, text=f"bad token {TOKEN} for {SHOP} with key_ABCDEFGH")


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (lambda request: echoing(401), ProviderHTTPError),
        (lambda request: echoing(404), ProviderHTTPError),
        (lambda request: echoing(503), ProviderHTTPError),
        (timeout, ProviderTimeoutError),
    ],
    ids=["401", "404", "retried-503", "timeout"],
)
async def test_no_credential_in_errors_or_logs(
    handler: object, error: type[ProviderError], caplog: pytest.LogCaptureFixture
) -> None:
    credentials, definition = shopify_like()
    caplog.set_level(logging.DEBUG)
    client = make_client(definition, handler, credentials=credentials)  # type: ignore[arg-type]

    with pytest.raises(error) as raised:
        async for _ in client.pages("orders"):
            pass

    texts = [str(raised.value), raised.value.url, *(record.getMessage() for record in caplog.records)]
    assert caplog.records, "the calls should have been logged"
    for text in texts:
        for secret in credentials.values():
            assert secret not in text
    assert "/admin/api/2025-01/orders.json" in str(raised.value)


@pytest.mark.anyio
async def test_basic_auth_pair_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    definition = connector(
        resource("orders"),
        auth={"type": "basic", "username": "consumerKey", "password": "consumerSecret"},
        headers={},
    )
    credentials = {"consumerKey": "ck_live_1234567", "consumerSecret": "cs_live_7654321"}
    encoded = base64.b64encode(b"ck_live_1234567:cs_live_7654321").decode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text=f"rejected {request.headers['Authorization']}")

    caplog.set_level(logging.DEBUG)
    client = make_client(definition, handler, credentials=credentials, limiter=RecordingLimiter())
    with pytest.raises(ProviderHTTPError) as raised:
        await client.details("orders", 5)

    for text in [str(raised.value), *(record.getMessage() for record in caplog.records)]:
        assert encoded not in text
        assert "ck_live_1234567" not in text


@pytest.mark.anyio
async def test_a_checkpoint_holds_no_credential() -> None:
    # Given a provider whose next link echoes the token in its query
    credentials, definition = shopify_like()
    definition = connector(
        resource("orders", pagination={"type": "link_header"}),
        auth={"type": "api_key", "credentials": ["accessToken", "shopDomain"]},
        base_url="https://[[shopDomain]]/admin/api/2025-01",
        headers={"X-Shopify-Access-Token": "[[accessToken]]"},
    )

    def handler(request: httpx.Request) -> httpx.Response:
        link = f'<https://{SHOP}/admin/api/2025-01/orders?page_info=p2&token={TOKEN}>; rel="next"'
        return json_response([{"id": 1}], headers={"Link": link})

    client = make_client(definition, handler, credentials=credentials)
    page = await anext(client.pages("orders"))

    assert page.next is not None
    stored = page.next.to_json()
    assert TOKEN not in stored and SHOP not in stored
    assert page.next.url == "/orders?page_info=p2&token=[[accessToken]]"


@pytest.mark.anyio
async def test_the_http_librarys_own_request_log_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    credentials, definition = shopify_like()
    caplog.set_level(logging.INFO, logger="httpx")
    client = make_client(definition, lambda request: json_response([]), credentials=credentials)

    async for _ in client.pages("orders"):
        pass

    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert lines, "httpx logs each request at INFO"
    assert all(TOKEN not in line and SHOP not in line and "key_ABCDEFGH" not in line for line in lines)
    assert "/admin/api/2025-01/orders.json" in lines[0]
