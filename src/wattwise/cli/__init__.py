"""The ``wattwise`` command line: one sub-command per module, one clear line per error.

Every error a user can cause ends in one line on stderr and a non-zero exit code (2 for bad
input), never a traceback; ``WATTWISE_DEBUG=1`` shows the traceback of an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from wattwise import __version__
from wattwise.errors import ConfigError, WattwiseError

Handler = Callable[[argparse.Namespace], int]
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (plus where to find help), exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each feature module adds its own sub-commands."""
    from wattwise.cli import audit, data, doctor, estimate, optimize, regions, run, runs

    p = Parser(
        prog="wattwise",
        description="Measure, estimate, account, reduce and report the energy of AI work.",
    )
    p.add_argument("--version", action="version", version=f"wattwise {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    run.register(sub)
    runs.register(sub)
    doctor.register(sub)
    regions.register(sub)
    data.register(sub)
    estimate.register(sub)
    optimize.register(sub)
    audit.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wattwise`` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `wattwise run [opts] -- CMD ...`: everything after the first `--` is the command.
    command: list[str] | None = None
    if "--" in args_list:
        i = args_list.index("--")
        command = args_list[i + 1 :]
        args_list = args_list[:i]
    try:
        args = parser.parse_args(args_list)
        args.target_command = command
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if command is not None and not getattr(args, "accepts_command", False):
            raise ConfigError(f"'wattwise {args.command}' takes no command after '--'")
        return handler(args)
    except ConfigError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return EXIT_USAGE
    except WattwiseError as exc:
        sys.stderr.write(f"wattwise: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("wattwise: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("WATTWISE_DEBUG"):
            raise
        sys.stderr.write(
            f"wattwise: internal error: {type(exc).__name__}: {exc} "
            "(set WATTWISE_DEBUG=1 for a traceback, and please report it)\n"
        )
        return 1


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help="ledger: a SQLite file path or a database URL (default: $WATTWISE_DB, "
        "else a SQLite file in the user data directory)",
    )
