"""A store's product as Mercator itself wrote it (catalog push) fires nothing; a merchant's later edit of
it in the store fires as usual."""

from __future__ import annotations

from datetime import UTC, datetime

from mercator.services.dispatch import DispatchService
from mercator.services.push_echoes import PushEchoes
from tests.unit.services.dispatch_support import DispatchWorld, FakeWorkflows, change, workflow

PUSHED_AT = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)


class Ledger:
    def echo_until(self, integration_id: str, provider_id: str) -> datetime | None:
        return PUSHED_AT if (integration_id, provider_id) == ("salla-demo", "501") else None


def product(updated_at: str) -> dict[str, object]:
    return {"code": "501", "name": "Blue Mug", "updatedAt": updated_at}


def service(world: DispatchWorld) -> DispatchService:
    plain = world.service()
    return DispatchService(
        connectors=plain.connectors,
        workflows=plain.workflows,
        executions=plain.executions,
        publisher=plain.publisher,
        runners=plain.runners,
        clock=plain.clock,
        echoes=PushEchoes(Ledger()),
    )


def test_the_stores_webhook_of_a_pushed_product_fires_no_trigger_and_a_later_edit_does() -> None:
    # Given a workflow on product.updated
    world = DispatchWorld(FakeWorkflows(workflow("w-1", trigger="product.updated", entity_type="Product")))
    dispatch = service(world)

    # When the store sends back the product as Mercator pushed it
    echo = dispatch.dispatch(
        change(
            record=product("2025-01-01T06:00:00+00:00"),
            change_kind="updated",
            content_type="core:product",
            event="product.updated",
        )
    )

    # Then nothing fired: no bus event, no workflow
    assert echo.echo
    assert (echo.triggers_fired, world.publisher.calls, len(world.email.runs)) == (0, 0, 0)

    # When the merchant then edits the product in the store
    edit = dispatch.dispatch(
        change(
            record=product("2025-01-01T06:05:00+00:00"),
            change_kind="updated",
            content_type="core:product",
            event="product.updated",
        )
    )

    # Then its trigger fires and the workflow runs
    assert not edit.echo
    assert edit.triggers_fired == 1
    assert len(world.email.runs) == 1
