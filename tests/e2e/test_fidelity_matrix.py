"""The fault matrix on the local stack: under each fault, the records table ends equal to the store,
record by record, for everything the platform lets Mercator see (see tests/e2e/fidelity.py)."""

from __future__ import annotations

import pytest

from mercator_sandbox.app import FlavorName
from tests.e2e.fidelity import FAULTS, Fault, cell_stack, run_cell
from tests.e2e.support import FLAVORS


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name.replace(" ", "-"))
@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_records_table_equals_the_store_under_each_fault(flavor: FlavorName, fault: Fault) -> None:
    # Given a fresh stack and store; When it is synced, changed, synced under the fault and synced again
    with cell_stack() as stack:
        result = run_cell(stack, flavor, fault)

    # Then every record the store holds is there as the store has it, and every one it lost is deleted
    assert result.exact, result.describe()
    assert result.dead_letters == 0
