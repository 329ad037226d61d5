"""Strip outputs from notebooks before commit: ``tools/strip_notebooks.py [--check] [FILES]``.

Removes every cell's outputs, sets ``execution_count`` to null, and drops notebook and cell
metadata that records a session (widget state, execution timings, jupytext pairing), so a
committed notebook holds only its source. ``--check`` changes nothing and exits 1 when a
notebook is not stripped (for CI or a pre-commit hook). Without files, ``notebooks/*.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# Notebook-level keys written by a session, not by the author.
SESSION_METADATA = ("widgets", "jupytext", "toc", "varInspector")
# Cell-level keys written by a session (execution timings, scroll state...).
SESSION_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def strip(nb: dict[str, Any]) -> dict[str, Any]:
    """``nb`` (nbformat 4 JSON) without outputs, execution counts or session metadata."""
    meta = nb.setdefault("metadata", {})
    for key in SESSION_METADATA:
        meta.pop(key, None)
    for cell in nb.get("cells", []):
        cell_meta = cell.setdefault("metadata", {})
        for key in SESSION_CELL_METADATA:
            cell_meta.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def dumps(nb: dict[str, Any]) -> str:
    """JSON as Jupyter writes it (1-space indent, sorted keys, trailing newline)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not stripped")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    files = args.files or sorted((root / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        clean = dumps(strip(json.loads(text)))
        if clean != text:
            dirty.append(path)
            if not args.check:
                path.write_text(clean, encoding="utf-8")
    verb = "not stripped" if args.check else "stripped"
    for path in dirty:
        print(f"{verb}: {path}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
