"""The connector definitions the services work with, each loaded and validated once per process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from mercator.connector import (
    ConnectorDefinition,
    ExtraConnectors,
    connector_names,
    load_extra,
    load_shipped,
)

logger = logging.getLogger(__name__)

Loader = Callable[[str], ConnectorDefinition]


class ConnectorCatalog:
    """Connectors by name (mercator.services.ports.Connectors): given ones first, then the deployment's
    extra ones, else shipped ones.

    A warm Lambda keeps its catalog, so a definition is parsed and its mappings compiled once, not
    once per record. An unknown name raises DefinitionError listing the shipped connectors; an extra
    connector that was refused raises its own located DefinitionError.
    """

    def __init__(
        self,
        definitions: Mapping[str, ConnectorDefinition] | None = None,
        *,
        loader: Loader = load_shipped,
        extra: ExtraConnectors | None = None,
    ) -> None:
        self._loaded: dict[str, ConnectorDefinition] = dict(definitions or {})
        for name, definition in self._loaded.items():
            if definition.name != name:
                raise ValueError(f"connector {definition.name!r} was given under the name {name!r}")
        self._loader = loader
        self._extra = extra or ExtraConnectors()

    @classmethod
    def of_deployment(cls, connectors_dir: Path | None) -> ConnectorCatalog:
        """The shipped connectors and the extra ones in ``connectors_dir`` (``CONNECTORS_DIR``), read
        now, at cold start. An extra definition that cannot be used is logged with its located
        problems and refused on its own: its integrations fail with that error until it is fixed,
        while every other connector, shipped or extra, keeps serving its tenants."""
        extra = load_extra(connectors_dir)
        for error in extra.problems:
            logger.error(
                "extra connector refused: %s",
                error,
                extra={"connectors_dir": str(connectors_dir), "file": error.file},
            )
        if extra.definitions:
            logger.info("extra connectors from %s: %s", connectors_dir, ", ".join(sorted(extra.definitions)))
        return cls(extra=extra)

    def get(self, name: str) -> ConnectorDefinition:
        found = self._loaded.get(name)
        if found is None:
            found = self._loaded[name] = self._extra.get(name) or self._loader(name)
        return found

    def names(self) -> list[str]:
        """Every connector a tenant may configure here: the shipped ones, then the usable extra ones."""
        return connector_names(self._extra)
