"""Every shipped connector's resources list through the client from their real-shaped samples."""

from __future__ import annotations

import json

import httpx
import pytest

from mercator.connector import load_shipped
from tests.unit.providers.conftest import make_client

CASES = [
    (name, key)
    for name in ("salla", "zid", "shopify", "woocommerce")
    for key, item in load_shipped(name).resources.items()
    if item.samples.list
]
URL_CREDENTIALS = {"storeUrl": "https://shop.example.com", "shopDomain": "demo.myshopify.com"}


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "key"), CASES)
async def test_first_page_of_each_shipped_resource(name: str, key: str) -> None:
    definition = load_shipped(name)
    resource = definition.resources[key]
    assert resource.samples.list is not None
    sample = json.loads(definition.resolve(resource.samples.list).read_text(encoding="utf-8"))
    provided = definition.auth.provides() if definition.auth else set()
    credentials = {
        credential: URL_CREDENTIALS.get(credential, f"secret-{credential}-0001") for credential in provided
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=sample)

    client = make_client(definition, handler, credentials=credentials, page_prefetch=1)
    async with client:
        pages = client.pages(key)
        page = await anext(pages)
        await pages.aclose()

    assert page.records == resource.responseMapping.records_in(sample)
    assert page.records, "every sample lists at least one record"
    assert str(seen[0].url).startswith(client.base_url + "/")
    assert all("[[" not in value for value in seen[0].headers.values())
