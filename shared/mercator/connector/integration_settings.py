"""Where an integration departs from its connector: its own base URL and its own rate limit."""

from __future__ import annotations

from mercator.connector.definition import ConnectorDefinition
from mercator.domain.entities import Integration


def base_url_of(integration: Integration) -> str | None:
    """The integration's own base URL (``settings.baseUrl``), or None to use the connector's."""
    value = integration.settings.get("baseUrl")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"integration {integration.id!r}: settings.baseUrl must be a URL (text), got {value!r}"
        )
    return value.strip()


def rate_of(integration: Integration, definition: ConnectorDefinition) -> float:
    """The store's requests per second: the integration's own where its plan differs, else the connector's."""
    own = integration.rate_limit()
    return own if own is not None else definition.sync.syncConfiguration.rateLimitPerSecond
