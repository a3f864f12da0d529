"""``sync.allowedHosts``: the hosts a tenant's own store address may name, refused where miswritten."""

from __future__ import annotations

import copy

import pytest

from mercator.connector import DefinitionError, load_definition, shipped_definitions, validate_definition
from mercator.domain.host_patterns import host_matches, pattern_problem
from tests.unit.connector.test_invalid_definitions import valid_definition


@pytest.mark.parametrize(
    ("host", "pattern", "matches"),
    [
        ("acme.myshopify.com", "*.myshopify.com", True),
        ("ACME.MyShopify.com", "*.myshopify.com", True),
        ("a.b.myshopify.com", "*.myshopify.com", True),
        ("myshopify.com", "*.myshopify.com", False),
        ("evilmyshopify.com", "*.myshopify.com", False),
        ("acme.myshopify.com.evil.io", "*.myshopify.com", False),
        ("api.salla.dev", "api.salla.dev", True),
        ("api.salla.dev.", "api.salla.dev", True),
        ("x.api.salla.dev", "api.salla.dev", False),
        ("shop.example.org", "*", True),
        ("", "*", False),
    ],
)
def test_host_patterns_match_whole_labels(host: str, pattern: str, matches: bool) -> None:
    assert pattern_problem(pattern) is None
    assert host_matches(host, pattern) is matches


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("https://api.example.com", "without a scheme"),
        ("api.example.com/v2", "without a scheme, port, path"),
        ("api.example.com:443", "port"),
        ("*example.com", "'*' stands alone"),
        ("api.*.com", "'*' stands alone"),
        ("*.com", "too wide"),
        ("API.example.com", "lower case"),
        ("api..example.com", "no empty label"),
        ("api.example.com.", "trailing dot"),
        ("exa mple.com", "label holds letters, digits"),
        ("", "empty"),
        ("[::1]", "IPv6 literal"),
    ],
)
def test_a_bad_pattern_is_refused_at_load_with_its_location(pattern: str, fragment: str) -> None:
    doc = copy.deepcopy(valid_definition())
    doc["sync"]["allowedHosts"] = ["api.example.com", pattern]

    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")

    problem = caught.value.problems[0]
    assert problem.path == "sync.allowedHosts[1]", caught.value.render()
    assert fragment in problem.message


def test_a_written_base_url_host_must_be_among_the_allowed_hosts() -> None:
    doc = copy.deepcopy(valid_definition())
    doc["sync"]["allowedHosts"] = ["*.example.org"]

    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")

    problem = caught.value.problems[0]
    assert problem.path == "sync.allowedHosts"
    assert (
        "baseUrl's own host 'api.example.com' matches none of allowedHosts (*.example.org)" in problem.message
    )


def test_without_allowed_hosts_a_tenant_may_name_the_base_urls_own_host_only() -> None:
    written = validate_definition(valid_definition(), "demo.yaml")
    assert written.sync.allowedHosts is None
    assert written.sync.store_hosts() == ["api.example.com"]

    doc = valid_definition()
    doc["auth"]["credentials"] = ["accessToken", "storeUrl", "webhookSecret"]
    doc["sync"]["baseUrl"] = "[[storeUrl]]/wp-json/wc/v3"
    assert validate_definition(doc, "demo.yaml").sync.store_hosts() == []


def test_the_shipped_connectors_name_the_hosts_their_platforms_serve_stores_from() -> None:
    declared = {path.stem: load_definition(path).sync.allowedHosts for path in shipped_definitions()}

    assert declared == {
        "salla": ["api.salla.dev"],
        "zid": ["api.zid.sa"],
        "crystal": ["*"],
        "shopify": ["*.myshopify.com"],
        # Self-hosted: any host, every address still checked to be public.
        "woocommerce": ["*"],
        # Never called: the PIM calls Mercator.
        "pim": None,
    }
