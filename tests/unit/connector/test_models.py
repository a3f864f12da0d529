"""Definition model behaviour: pagination sizes, incremental cursors, placeholders, seed form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mercator.connector import DefinitionError, validate_definition
from mercator.connector.endpoints import ResponseMapping
from mercator.connector.pagination import Incremental, LinkHeaderPagination, PageNumberPagination
from mercator.connector.placeholders import fill, placeholders
from mercator.domain.errors import MissingCredentialError
from tests.unit.connector.conftest import definition_doc

CURSOR = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def incremental(**values: Any) -> Incremental:
    return Incremental.model_validate({"param": "updated_at_min", "recordUpdatedAt": "updated_at", **values})


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("iso8601", "2024-05-01T11:55:00+00:00"),
        ("iso8601_z", "2024-05-01T11:55:00Z"),
        ("datetime", "2024-05-01 11:55:00"),
        ("date", "2024-05-01"),
        ("epoch", "1714564500"),  # 2024-05-01T11:55:00Z
        ("epoch_ms", "1714564500000"),
    ],
)
def test_incremental_param_is_cursor_minus_overlap_in_format(fmt: str, expected: str) -> None:
    # Given the default overlap of 300 s, When a run starts from the cursor, Then the filter is 5 min earlier
    assert incremental(format=fmt).query(CURSOR) == {"updated_at_min": expected}


def test_incremental_in_the_providers_zone_with_extra_params() -> None:
    spec = incremental(
        format="datetime", timezone="Asia/Riyadh", overlapSeconds=0, params={"dates_are_gmt": False}
    )
    # 12:00 UTC is 15:00 in Riyadh (UTC+3, no DST)
    assert spec.query(CURSOR) == {"dates_are_gmt": False, "updated_at_min": "2024-05-01 15:00:00"}


def test_incremental_iso_keeps_offset_of_fixed_zone() -> None:
    spec = incremental(timezone="+03:00", overlapSeconds=60)
    assert spec.format_cursor(spec.window_start(CURSOR)) == "2024-05-01T14:59:00+03:00"


def test_stop_when_older_needs_no_param() -> None:
    spec = Incremental.model_validate(
        {"recordUpdatedAt": "updated_at", "stopWhenOlder": True, "params": {"sort": "updated_at"}}
    )
    assert spec.query(CURSOR) == {"sort": "updated_at"}
    assert spec.window_start(CURSOR) == CURSOR - timedelta(seconds=300)


@pytest.mark.parametrize(("requested", "expected"), [(None, 60), (20, 20), (500, 100)])
def test_page_size_is_capped_by_max_limit(requested: int | None, expected: int) -> None:
    pagination = PageNumberPagination.model_validate(
        {"paramName": "per_page", "defaultLimit": 60, "maxLimit": 100}
    )
    assert pagination.page_size(requested) == expected


def test_page_size_without_max_limit() -> None:
    assert (
        LinkHeaderPagination.model_validate(
            {"type": "link_header", "paramName": "limit", "defaultLimit": 250}
        ).page_size(1000)
        == 1000
    )


def test_seed_pagination_block_is_page_number() -> None:
    # The seed writes pagination without a type: {paramName, defaultLimit, maxLimit}
    definition = validate_definition(definition_doc())
    pagination = definition.resources["products"].pagination
    assert isinstance(pagination, PageNumberPagination)
    assert (pagination.pageParam, pagination.paramName, pagination.startPage) == ("page", None, 1)


@pytest.mark.parametrize(
    ("mapping", "body", "records", "total"),
    [
        (
            {"dataProperty": "data", "totalProperty": "pagination.total"},
            {"data": [1, 2], "pagination": {"total": 9}},
            [1, 2],
            9,
        ),
        ({}, [{"id": 1}], [{"id": 1}], None),
        ({"dataProperty": "$.orders"}, {"orders": []}, [], None),
        ({"dataProperty": "data"}, {"data": {"id": 1}}, None, None),
        ({"dataProperty": "data", "totalProperty": "total"}, {"data": [], "total": "12"}, [], None),
    ],
    ids=["envelope", "bare-array", "jsonpath", "object-not-list", "total-as-text"],
)
def test_response_mapping_unwraps_list_and_total(
    mapping: dict[str, str], body: Any, records: Any, total: int | None
) -> None:
    response = ResponseMapping.model_validate(mapping)
    assert response.records_in(body) == records
    assert response.total_in(body) == total


def test_placeholders_are_filled_from_credentials() -> None:
    text = "https://[[shopDomain]]/admin?t=[[accessToken]]"
    assert placeholders(text) == ["shopDomain", "accessToken"]
    assert fill(text, {"shopDomain": "s.example", "accessToken": "abc"}) == "https://s.example/admin?t=abc"


@pytest.mark.parametrize("credentials", [{}, {"accessToken": ""}, {"accessToken": None}])
def test_missing_credential_names_the_place(credentials: dict[str, Any]) -> None:
    with pytest.raises(MissingCredentialError) as caught:
        fill("Bearer [[accessToken]]", credentials, where="sync.headers.Authorization")
    assert str(caught.value) == (
        "sync.headers.Authorization needs credential 'accessToken', which this integration does not have"
    )


def test_compiled_mappings_carry_connector_and_scope() -> None:
    definition = validate_definition(definition_doc())
    assert definition.resources["products"].mapping.connector == "demo"
    assert definition.resources["products"].mapping.scope == "resource products"
    handler = definition.handlers["order.created"]
    assert (handler.compiled.connector, handler.compiled.scope) == ("demo", "event order.created")


def test_legacy_block_alongside_sync_is_accepted() -> None:
    doc = definition_doc()
    doc["webhook"]["ecommerce"] = {"orders": {}}
    assert validate_definition(doc).webhook is not None


def test_timezone_helper_for_fixed_offsets() -> None:
    spec = incremental(timezone="-05:00", format="iso8601", overlapSeconds=0)
    assert (
        spec.format_cursor(CURSOR)
        == datetime(2024, 5, 1, 7, tzinfo=timezone(timedelta(hours=-5))).isoformat()
    )


def oauth_doc(**auth: Any) -> dict[str, Any]:
    doc = definition_doc()
    doc["auth"] = {
        "type": "oauth2",
        "authorizeUrl": "https://[[shopDomain]]/admin/oauth/authorize",
        "tokenUrl": "https://[[shopDomain]]/admin/oauth/access_token",
        "credentials": ["shopDomain", "webhookSecret"],
        **auth,
    }
    return doc


def test_oauth_urls_may_be_per_store() -> None:
    auth = validate_definition(oauth_doc()).auth
    assert auth is not None
    assert auth.provides() == {"accessToken", "refreshToken", "shopDomain", "webhookSecret"}


def test_oauth_url_placeholders_must_be_credentials() -> None:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(oauth_doc(credentials=[]))
    problem = caught.value.problems[0]
    assert problem.path == "auth.authorizeUrl"
    assert "[[shopDomain]] is not a credential" in problem.message
