"""StoreRequests shapes one store's requests and keeps the integration's credentials where they belong."""

from __future__ import annotations

import pytest

from mercator.domain.provider_errors import ProviderResponseError
from mercator.providers.paginators import PageRequest
from mercator.providers.redaction import MASK
from mercator.providers.store_requests import StoreRequests
from tests.unit.providers.conftest import BASE, connector, resource

TOKEN = "t-0123456789abcdef"


def requests_for(**credentials: str) -> StoreRequests:
    return StoreRequests(connector(resource("orders")), {"accessToken": TOKEN, **credentials})


def test_a_base_url_typed_with_a_trailing_slash_collapses() -> None:
    definition = connector(
        resource("orders"),
        auth={"type": "api_key", "credentials": ["accessToken", "storeUrl"]},
        base_url="[[storeUrl]]/wp-json/wc/v3",
    )

    requests = StoreRequests(definition, {"accessToken": TOKEN, "storeUrl": "https://shop.example.com/"})
    url, _ = requests.list_request(definition.resources["orders"], PageRequest(None))

    assert requests.base_url == "https://shop.example.com/wp-json/wc/v3"
    assert url == "https://shop.example.com/wp-json/wc/v3/orders"


def test_a_next_page_link_to_another_host_is_refused() -> None:
    requests = requests_for()
    answered = f"{BASE}/orders?page=1"

    with pytest.raises(ProviderResponseError, match="the next-page link leads to another host"):
        requests.url_to_stored(f"https://elsewhere.example.net/orders?page=2&t={TOKEN}", answered, "GET")
    # The same link on the store's own host is kept, as a path without the token.
    assert requests.url_to_stored(f"{BASE}/orders?page=2&t={TOKEN}", answered, "GET") == (
        "/orders?page=2&t=[[accessToken]]"
    )


def test_a_stored_next_page_url_leading_away_from_the_connectors_hosts_is_refused() -> None:
    requests = requests_for()
    orders = requests.resource("orders")

    with pytest.raises(ValueError, match="leads away from the connector's hosts"):
        requests.stored_to_url("https://elsewhere.example.net/orders?t=[[accessToken]]", orders)
    assert requests.stored_to_url(f"{BASE}/orders?t=[[accessToken]]", orders) == f"{BASE}/orders?t={TOKEN}"


def test_renewed_credentials_keep_the_old_token_masked_and_rebuild_what_it_built() -> None:
    requests = requests_for()
    renewed = "t-fedcba9876543210"

    rebuilt = requests.use({"accessToken": renewed}, f"{BASE}/orders?t={TOKEN}", {"page": "2", "t": TOKEN})

    assert rebuilt == (f"{BASE}/orders?t={renewed}", {"page": "2", "t": renewed})
    assert requests.redactor.text(f"sent {TOKEN}, now {renewed}") == f"sent {MASK}, now {MASK}"
    assert requests.headers == {"Authorization": f"Bearer {renewed}"}
    assert requests.use({"accessToken": renewed}, "unchanged", None) is None
