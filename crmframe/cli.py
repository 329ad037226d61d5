"""The ``crmframe`` command line.

::

    crmframe demo                 the main job: sandbox, read, edit, plan, push, jobs, report
    crmframe sandbox [options]    a local Zoho-compatible server (``crmframe sandbox --help``)
    crmframe samples              print the bundled Zoho sample envelopes as DataFrames

Subcommands import their modules lazily so ``crmframe sandbox`` starts without pandas.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

# subcommand -> (module, function taking argv and returning an exit code, one-line help)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("crmframe.demo", "main", "run the end-to-end demo against an embedded sandbox"),
    "sandbox": ("crmframe.sandbox.cli", "main", "run a local Zoho-CRM-compatible server"),
    "samples": ("crmframe.samples", "main", "print the bundled Zoho sample envelopes as frames"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmframe",
        description="Zoho CRM data as typed pandas DataFrames.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, _, help_text) in _COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crmframe`` command line; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not args or args[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in _COMMANDS:
        parser.print_usage(sys.stderr)
        print(f"crmframe: unknown command {command!r}; choose from {', '.join(_COMMANDS)}",
              file=sys.stderr)
        return 2
    module_name, func_name, _ = _COMMANDS[command]
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
