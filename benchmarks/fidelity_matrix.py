"""The fault matrix, printed: every flavor by every fault, the records table against the store.

Each cell is the story of ``tests/e2e/fidelity.py`` on a fresh local stack: an initial sync, the
merchant's edits, inserts and deletes, a sync under the fault, a clean sync; after the faulted sync and
after the clean one, the records table is compared with the store record by record (missing, stale,
and deleted in the store but live in the table). The test suite asserts the same cells
(tests/e2e/test_fidelity_matrix.py); this prints them all, with each cell's time, and exits 1 when
any cell is not exact.

    .venv/bin/python benchmarks/fidelity_matrix.py [--flavor salla] [--fault 5xx]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

# The harness lives with the end-to-end tests, which share it; the project root makes them importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.fidelity import FAULTS, CellResult, cell_stack, run_cell
from tests.e2e.support import FLAVORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", action="append", choices=FLAVORS, help="only these flavors")
    parser.add_argument("--fault", action="append", choices=[fault.name for fault in FAULTS])
    options = parser.parse_args(argv)
    flavors = options.flavor or list(FLAVORS)
    faults = [fault for fault in FAULTS if not options.fault or fault.name in options.fault]

    results: list[CellResult] = []
    for fault in faults:
        for flavor in flavors:
            # The handlers log as JSON to stdout; the matrix is what this prints.
            with cell_stack() as stack, contextlib.redirect_stdout(io.StringIO()):
                result = run_cell(stack, flavor, fault)
            results.append(result)
            print(
                f"  {fault.name:<14} {flavor:<12} {'exact' if result.exact else 'DIFFERS'}", file=sys.stderr
            )

    width = max(len(fault.name) for fault in faults)
    print(f"\n{'fault':<{width}}  " + "  ".join(f"{flavor:<12}" for flavor in flavors) + "  what")
    for fault in faults:
        cells = [
            next(r for r in results if r.fault == fault.name and r.flavor == flavor) for flavor in flavors
        ]
        row = "  ".join(f"{('exact' if c.exact else 'DIFFERS') + f' {c.seconds:4.1f}s':<12}" for c in cells)
        print(f"{fault.name:<{width}}  {row}  {fault.what}")
    wrong = [result for result in results if not result.exact or result.dead_letters]
    for result in wrong:
        print(f"\n{result.flavor}, {result.fault}: {result.describe()}; dead letters: {result.dead_letters}")
    exact = len(results) - len(wrong)
    print(f"\n{exact} of {len(results)} cells exact")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
