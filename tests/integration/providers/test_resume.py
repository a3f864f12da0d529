"""A listing stopped mid-way resumes elsewhere from its stored checkpoint: no gap, no duplicate."""

from __future__ import annotations

from contextlib import aclosing
from datetime import datetime

import pytest

from mercator.domain.pages import PageCheckpoint
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.support import (
    FLAVORS,
    SINCE,
    FrozenClock,
    listed_ids,
    listing_order,
    make_client,
    secret_values,
    selected_since,
    transport,
)

STOP_AFTER = 3  # pages read before the run stops


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize(("since", "page_size"), [(None, 5), (SINCE, 2)], ids=["full", "incremental"])
async def test_a_resumed_listing_continues_where_the_stored_checkpoint_left_off(
    flavor: FlavorName, since: datetime | None, page_size: int
) -> None:
    # Given a store and the ids a whole listing shows, in order
    sandbox = Sandbox(flavor, seed=8, sizes={"orders": 90}, rate_limit=None, clock=FrozenClock())
    chosen = selected_since(sandbox, "orders") if since is not None else None
    expected = listing_order(sandbox, "orders", chosen)
    assert len(expected) > (STOP_AFTER + 1) * page_size, "the listing must go on after the checkpoint"

    # When one run reads three pages and stores where it stopped
    first: list[int] = []
    stored = ""
    async with (
        transport(sandbox) as http,
        make_client(sandbox, http) as client,
        aclosing(client.pages("orders", since=since, page_size=page_size)) as pages,
    ):
        async for page in pages:
            first += [int(record["id"]) for record in page.records]
            if page.number == STOP_AFTER - 1:
                assert page.next is not None
                stored = page.next.to_json()
                break

    # And another run, with its own HTTP client, resumes from the stored text
    checkpoint = PageCheckpoint.from_json(stored)
    async with transport(sandbox) as http, make_client(sandbox, http) as client:
        rest, _ = await listed_ids(client.pages("orders", resume=checkpoint))

    # Then together they list every id once, in order
    assert first == expected[: STOP_AFTER * page_size]
    assert first + rest == expected
    # And the stored checkpoint holds its place and filter but no credential
    assert checkpoint.number == STOP_AFTER
    assert checkpoint.since == since
    assert not [secret for secret in secret_values(flavor) if secret in stored]
