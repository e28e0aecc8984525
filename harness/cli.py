"""``harness``: the reference gateway, scenario repro, health checks, load runs, the main job.

Each subcommand lives in ``harness/commands/<name>.py`` with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; this module only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("gateway", "token", "repro", "health", "telemetry", "load", "run", "locustfile")


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help line, unless the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" in text
            or action.default is None
            or action.default is False
            or action.default is argparse.SUPPRESS
            or action.default == []
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that subcommand's module is imported (a server's start-up
    should not pay for importing the load runner, the repro runner and the mock)."""
    p = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0].replace("``", ""))
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"harness.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"harness.commands.{name}":
                raise
            continue
        sp = sub.add_parser(
            name, help=module.HELP, description=module.HELP, formatter_class=DefaultsHelpFormatter
        )
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    return int(args._run(args) or 0)


def run() -> int:
    """The ``harness`` console script."""
    from mockserver.cli import console

    return console(main)


if __name__ == "__main__":
    sys.exit(run())
