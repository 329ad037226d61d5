"""Benchmark: ``import crmframe`` against ``import pandas``, each in a fresh interpreter.

Each round starts one new Python process per import, in alternating order, so load from
the other engineers' jobs on this shared machine falls on both sides alike. Both read
compiled bytecode from one cache directory written in a warm-up run (this machine sets
``PYTHONDONTWRITEBYTECODE``, which would recompile crmframe in every process but not
pandas). Reported: the median wall time of each over the rounds, less the interpreter's
own start-up (``python -c pass``, measured the same way), and the ratio of the medians.

Run: ``python benchmarks/bench_import.py [--rounds 15]``.
Goal: ``import crmframe`` at most 1.2x ``import pandas``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {"python -c pass": "pass", "import pandas": "import pandas",
         "import crmframe": "import crmframe"}


def _once(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        _once("import pandas, crmframe", env)  # warm the page cache, write the bytecode
        for round_ in range(args.rounds):
            order = list(CASES.items())
            if round_ % 2:
                order.reverse()
            for name, code in order:
                times[name].append(_once(code, env))
    bare = statistics.median(times["python -c pass"])
    pandas = statistics.median(times["import pandas"]) - bare
    ours = statistics.median(times["import crmframe"]) - bare
    print(f"{args.rounds} rounds, fresh process each, interleaved; medians, minus start-up "
          f"({bare * 1000:.0f} ms)")
    print(f"  import pandas   {pandas * 1000:7.0f} ms  1.00x")
    print(f"  import crmframe {ours * 1000:7.0f} ms  {ours / pandas:.2f}x   (goal <= 1.20x)")


if __name__ == "__main__":
    main()
