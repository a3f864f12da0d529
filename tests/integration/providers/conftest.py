"""Fixtures: the anyio backend, and the state tests' moto state table (the shared rate bucket lives there)."""

from __future__ import annotations

from tests.unit.state.conftest import REGION, TABLE, anyio_backend, aws, table

__all__ = ["REGION", "TABLE", "anyio_backend", "aws", "table"]
