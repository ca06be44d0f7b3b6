"""The `ltp` command line: one module per command, each with `add_parser(sub)` and `run(args)`.

Options used by several commands (--data-dir, --checkpoint, --batch-size ...) are defined once
in options.py. A new command is a module here plus one entry in COMMANDS.

Bad input (empty text, unknown data set, missing or broken checkpoint ...) ends with a
one-line message on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from ltp.cli import analyze, bench, calibrate, card, data, evaluate, export, options, prune, report, sweep
from ltp.cli import train as train_command
from ltp.cli.analyze import format_analysis
from ltp.cli.options import EXIT_INTERRUPTED, EXIT_USAGE

# the dispatch table, in the order `ltp --help` lists the commands
COMMANDS = {m.NAME: m for m in (data, train_command, calibrate, evaluate, prune, analyze, bench, sweep, export, card, report)}

__all__ = ["COMMANDS", "EXIT_USAGE", "build_parser", "format_analysis", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The `ltp` parser: one sub-parser per entry of COMMANDS."""
    from ltp import __version__

    p = argparse.ArgumentParser(prog="ltp", description="Learned Token Pruning for transformer text classifiers.",
                                formatter_class=options.HelpFormatter)
    p.add_argument("--version", action="version", version=f"ltp-lens {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse argv, run the command; returns its exit code (2 with a one-line message for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = "ltp " + shlex.join(argv)  # recorded in checkpoints and model cards
    from ltp.analysis.bundle import BundleError
    from ltp.errors import CheckpointError
    from ltp.data import DataError
    from ltp.text import InputError

    try:
        return COMMANDS[args.command].run(args)
    except (CheckpointError, DataError, InputError, BundleError, ValueError, RuntimeError, OSError) as err:
        print(f"ltp: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ltp: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
