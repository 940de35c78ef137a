"""The ``wattwise`` command line: one sub-command per module, one clear line per error.

Every error a user can cause ends in one line on stderr and a non-zero exit code (2 for bad
input), never a traceback; ``WATTWISE_DEBUG=1`` shows the traceback of an internal error.
"""

from __future__ import annotations

import argparse
import contextlib
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
    from wattwise.cli import (
        audit,
        bench,
        data,
        disclose,
        doctor,
        estimate,
        exporter,
        optimize,
        regions,
        run,
        runs,
        schedule,
        server,
        tune,
    )

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
    bench.register(sub)
    exporter.register(sub)
    tune.register(sub)
    disclose.register(sub)
    schedule.register(sub)
    server.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wattwise`` console script; returns the exit code.

    Output failures are one class, handled here: a reader of standard output that went away
    (``wattwise runs export | head``) ends quietly with exit code 141 (128 + SIGPIPE, what a
    shell reports for a writer killed by a closed pipe; nothing more is printed); a closed
    stdout or a full disk (stdout or an ``--out`` file) gives one line,
    ``wattwise: cannot write FILE: No space left on device``, and exit code 1.
    """
    from wattwise.outputs import guard_stdout

    previous = sys.stdout
    guarded = guard_stdout()
    try:
        try:
            code = _main(argv)
        except SystemExit:  # --help, --version, a usage error: their output is flushed too
            guarded.flush()
            raise
        guarded.flush()  # a full disk behind a redirect shows here, not at exit
        return code
    except SystemExit:
        raise
    except BaseException as exc:
        return _output_failure(exc)
    finally:
        sys.stdout = previous


def _main(argv: Sequence[str] | None) -> int:
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
    except BaseException as exc:
        if _is_output_failure(exc):
            raise  # main() handles these
        if isinstance(exc, ConfigError):
            _err(f"wattwise: error: {exc}")
            return EXIT_USAGE
        if isinstance(exc, WattwiseError):
            _err(f"wattwise: error: {exc}")
            return 1
        if isinstance(exc, KeyboardInterrupt):
            _err("wattwise: interrupted")
            return 130
        if not isinstance(exc, Exception):
            raise  # SystemExit and friends
        if os.environ.get("WATTWISE_DEBUG"):
            raise
        _err(
            f"wattwise: internal error: {type(exc).__name__}: {exc} "
            "(set WATTWISE_DEBUG=1 for a traceback, and please report it)"
        )
        return 1


#: Exit code after a broken pipe on standard output: 128 + SIGPIPE, as a shell reports it.
EXIT_PIPE_CLOSED = 141


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes / contexts (an output failure wrapped by a caller still shows)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 20:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _is_output_failure(exc: BaseException) -> bool:
    from wattwise.outputs import OutputError, PipeClosed

    return any(isinstance(e, (PipeClosed, BrokenPipeError, OutputError)) for e in _chain(exc))


def _output_failure(exc: BaseException) -> int:
    """Exit quietly after a broken pipe; one line and exit 1 for any other failed write."""
    from wattwise.outputs import OutputError, PipeClosed, silence_stdout

    chain = _chain(exc)
    for e in chain:
        if isinstance(e, OutputError):
            silence_stdout()  # nothing half-written is flushed at exit
            _err(f"wattwise: {e}")
            return 1
    if any(isinstance(e, (PipeClosed, BrokenPipeError)) for e in chain):
        silence_stdout()
        return EXIT_PIPE_CLOSED
    raise exc


def _err(line: str) -> None:
    """One line on stderr; a closed or failing stderr is not made worse by a traceback."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        stream.write(line + "\n")
        stream.flush()


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help="ledger: a SQLite file path or a database URL (default: $WATTWISE_DB, "
        "else a SQLite file in the user data directory)",
    )
