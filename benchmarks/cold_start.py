"""Cold-start benchmark: each handler's import from the layer as ``sam build`` builds it, in CPU time.

For every function of template.yaml, a fresh interpreter (``-I -S``, only the function's build folder
and the built layer on its path, the function's environment with stand-in values, as
tests/sam/test_built_handlers.py imports them) imports the handler module, and another imports
``boto3`` alone from the same layer: the handler's import CPU divided by boto3's is the figure (it
does not depend on the machine's speed). Each is run with the layer as built (bytecode compiled by
the build, ``shared/Makefile``) and with a copy of it without bytecode (every module compiled at
import, as a layer without ``.pyc`` files makes Lambda do at each cold start; nothing is written back,
``-B``). Medians of ``--runs`` runs. Figures are printed, never asserted.

    make build && .venv/bin/python benchmarks/cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sam.support import (  # noqa: E402
    BUILD_DIR,
    DUMMY_REGION,
    FUNCTION,
    dummy_value,
    function_environment,
    function_property,
    of_type,
)

from local import cfn_yaml  # noqa: E402

LAYER = BUILD_DIR / "SharedLayer" / "python"
IMPORT = """
import importlib, sys, time
function_dir, layer_dir, module = sys.argv[1:4]
sys.path[:0] = [function_dir, layer_dir]
start = time.process_time()
importlib.import_module(module)
print(time.process_time() - start)
"""


def environment(template: dict[str, object], logical_id: str, function_dir: Path) -> dict[str, str]:
    """What Lambda sets, and the template's variables with stand-in values; nothing from this shell."""
    variables = {
        "AWS_LAMBDA_FUNCTION_NAME": f"mercator-bench-{logical_id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(function_dir),
        "AWS_REGION": DUMMY_REGION,
        "AWS_DEFAULT_REGION": DUMMY_REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "PATH": "/usr/bin:/bin",
    }
    for name, value in function_environment(template, logical_id).items():
        variables[name] = dummy_value(template, value)
    return variables


def import_cpu(layer: Path, function_dir: Path, module: str, env: dict[str, str], runs: int) -> float:
    """Median CPU seconds of importing ``module`` in a fresh interpreter."""
    seconds = []
    for _ in range(runs):
        completed = subprocess.run(
            # -B: nothing written back, so the layer without bytecode compiles at every import.
            [sys.executable, "-I", "-S", "-B", "-c", IMPORT, str(function_dir), str(layer), module],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        seconds.append(float(completed.stdout.strip().splitlines()[-1]))
    return statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="imports per figure (the median is shown)")
    parser.add_argument("--only", nargs="*", metavar="FUNCTION", help="these functions (logical ids) only")
    args = parser.parse_args()
    if not LAYER.is_dir():
        print(f"no built layer at {LAYER.relative_to(ROOT)}: run `make build` first", file=sys.stderr)
        return 2
    compiled = sum(1 for _ in LAYER.rglob("*.pyc"))
    sources = sum(1 for _ in LAYER.rglob("*.py"))
    template = cfn_yaml.load(ROOT / "template.yaml")
    functions = sorted(args.only or of_type(template, FUNCTION))
    print(f"built layer: {sources} .py files, {compiled} .pyc files; medians of {args.runs} imports\n")
    with tempfile.TemporaryDirectory() as scratch:
        # The same layer without its bytecode: what a build that ships none gives Lambda.
        bare = Path(scratch) / "python"
        shutil.copytree(LAYER, bare, ignore=shutil.ignore_patterns("__pycache__"))
        header = (
            f"{'handler':<26} {'import CPU':>10} {'÷ boto3':>8}   {'no .pyc':>10} {'÷ boto3':>8}   "
            f"{'bytecode saves':>14}"
        )
        print(header)
        print("-" * len(header))
        for logical_id in functions:
            function_dir = BUILD_DIR / logical_id
            env = environment(template, logical_id, function_dir)
            module = str(function_property(template, logical_id, "Handler")).rpartition(".")[0]
            figures = []
            for layer in (LAYER, bare):
                boto3 = import_cpu(layer, function_dir, "boto3", env, args.runs)
                handler = import_cpu(layer, function_dir, module, env, args.runs)
                figures.append((handler, handler / boto3))
            (with_pyc, ratio), (without, ratio_without) = figures
            print(
                f"{logical_id:<26} {with_pyc * 1000:>8.0f}ms {ratio:>7.1f}x   {without * 1000:>8.0f}ms "
                f"{ratio_without:>7.1f}x   {1 - with_pyc / without:>13.0%}"
            )
    print("\n÷ boto3: the handler's import CPU over `import boto3` from the same layer (goal: at most 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
