"""Secret names by kind: each kind under its own prefix, and no name of one kind under another's."""

from __future__ import annotations

import pytest

from mercator.domain import secret_names
from mercator.services.registration import secret_name
from mercator.state.oauth_apps import app_secret_name

ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:"


def test_each_kind_has_its_own_prefix() -> None:
    assert secret_name("acme", "shop-1") == "mercator/credentials/acme/shop-1"
    assert app_secret_name("salla") == "mercator/oauth-apps/salla"
    assert secret_names.webhook_key_prefix("acme") == "mercator/acme/webhook-keys/"
    prefixes = [
        secret_names.CREDENTIALS,
        secret_names.OAUTH_APPS,
        secret_names.OAUTH_STATE,
        secret_names.VAPID,
    ]
    # No kind's prefix starts another's.
    assert all(not a.startswith(b) for a in prefixes for b in prefixes if a != b)


@pytest.mark.parametrize(
    ("tenant", "integration"), [("", "shop"), ("acme", ""), ("a/b", "shop"), ("acme", "shop/1")]
)
def test_a_name_part_is_never_empty_and_never_holds_a_slash(tenant: str, integration: str) -> None:
    with pytest.raises(ValueError, match="no '/'"):
        secret_names.credentials_secret_name(tenant, integration)


@pytest.mark.parametrize(
    "tenant", ["credentials", "oauth-apps", "oauth-state", "vapid", "webhook-keys", "VAPID"]
)
def test_tenants_named_like_a_kind_are_reserved(tenant: str) -> None:
    assert secret_names.is_reserved_tenant(tenant)
    # Their "webhook keys" would be another kind's secrets.
    assert not secret_names.is_webhook_key_of(tenant, f"mercator/{tenant}/webhook-keys/k")


@pytest.mark.parametrize(
    ("secret_id", "expected"),
    [
        ("mercator/acme/webhook-keys/warehouse", True),
        (f"{ARN}mercator/acme/webhook-keys/warehouse-AbCdEf", True),
        ("mercator/acme/webhook-keys/", False),  # the prefix alone names nothing
        ("mercator/acme/warehouse", False),  # the tenant's, but not a signing key
        ("mercator/other/webhook-keys/warehouse", False),  # another tenant's
        ("mercator/acme-2/webhook-keys/warehouse", False),
        ("mercator/credentials/acme/shop-1", False),  # credentials are never a signing key
        ("mercator/vapid/push", False),
        (
            "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/other/webhook-keys/k-Ab12Cd",
            False,
        ),
    ],
)
def test_a_tenant_signs_only_with_its_own_webhook_keys(secret_id: str, expected: bool) -> None:
    assert secret_names.is_webhook_key_of("acme", secret_id) is expected


def test_a_secret_id_is_a_name_or_an_arn() -> None:
    assert secret_names.secret_name_of("mercator/vapid/push") == "mercator/vapid/push"
    assert secret_names.secret_name_of(f"{ARN}mercator/vapid/push-Ab12Cd") == "mercator/vapid/push-Ab12Cd"
    assert secret_names.is_under(secret_names.VAPID, f"{ARN}mercator/vapid/push-Ab12Cd")
    assert not secret_names.is_under(secret_names.VAPID, f"{ARN}mercator/other-Ab12Cd")
    assert not secret_names.is_under(secret_names.VAPID, "mercator/vapid/")
