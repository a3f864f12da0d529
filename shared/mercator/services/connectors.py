"""The connector definitions the services work with, each loaded and validated once per process."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mercator.connector import ConnectorDefinition, load_shipped

Loader = Callable[[str], ConnectorDefinition]


class ConnectorCatalog:
    """Connectors by name (mercator.services.ports.Connectors): given ones first, else shipped ones.

    A warm Lambda keeps its catalog, so a definition is parsed and its mappings compiled once, not
    once per record. An unknown name raises DefinitionError listing the shipped connectors.
    """

    def __init__(
        self, definitions: Mapping[str, ConnectorDefinition] | None = None, *, loader: Loader = load_shipped
    ) -> None:
        self._loaded: dict[str, ConnectorDefinition] = dict(definitions or {})
        for name, definition in self._loaded.items():
            if definition.name != name:
                raise ValueError(f"connector {definition.name!r} was given under the name {name!r}")
        self._loader = loader

    def get(self, name: str) -> ConnectorDefinition:
        found = self._loaded.get(name)
        if found is None:
            found = self._loaded[name] = self._loader(name)
        return found
