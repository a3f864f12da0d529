"""The OAuth state key, rotated in Secrets Manager, signs a warm Lambda's new installs once the
vault's copy ages (five minutes), not only after a cold start."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from mercator.services.oauth_state import StateRejectedError, StateSigner
from mercator.state.secrets import MAX_AGE_SECONDS
from tests.integration.oauth.support import STATE_KEY, TENANT, OAuthWorld
from tests.secret_cache_clock import CacheClock

ROTATED = "rotated-state-key-for-tests-fedcba9876543210-0123"


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_new_installs_are_signed_with_the_rotated_key_once_the_copy_ages(
    world: OAuthWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_clock = CacheClock().install(monkeypatch)
    lambda_ = world.cold_start()
    before = state_of(lambda_.oauth.install_url(TENANT, "salla"))

    world.secrets.put_secret_value(SecretId="mercator/oauth-state/key", SecretString=ROTATED)
    within = state_of(lambda_.oauth.install_url(TENANT, "salla"))
    cache_clock.advance(MAX_AGE_SECONDS + 1)
    after = state_of(lambda_.oauth.install_url(TENANT, "salla"))

    old, new = StateSigner(STATE_KEY.encode()), StateSigner(ROTATED.encode())
    assert old.verify(before).tenant_id == TENANT
    assert old.verify(within).tenant_id == TENANT
    assert new.verify(after).tenant_id == TENANT
    with pytest.raises(StateRejectedError):
        old.verify(after)
