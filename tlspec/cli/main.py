"""The ``tlspec`` parser and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from tlspec import __version__
from tlspec.cli import build, evaluate, export, plan, plugins, predict, report, schema, serve, sweep, train, validate
from tlspec.errors import DEBUG_VARIABLE, SpecError, Terminated, TlspecError

EXIT_OK, EXIT_FAILURE, EXIT_SPEC, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
# A spec can ask for more than the machine has (huge max_length, batch_size or model sizes): the user's to change.
OUT_OF_MEMORY = ("error: out of memory: the spec asks for more memory than this machine has; make batch_size, "
                 "max_length or the model's sizes smaller")
COMMANDS = (validate, build, plan, train, sweep, evaluate, predict, export, serve, report, plugins, schema)


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="tlspec", description="Transfer learning, declared.")
    main_parser.add_argument("--version", action="version", version=f"tlspec {__version__}")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        from tlspec.training.stop_request import install

        install()
    try:
        os.getcwd()
    except FileNotFoundError:  # relative paths, caches and runs all start from it
        print("error: the working folder no longer exists; change to a folder that does", file=sys.stderr)
        return EXIT_FAILURE
    try:
        return args.run(args)
    except SpecError as error:
        for problem in error.problems:
            print(f"{problem}", file=sys.stderr)
        count = len(error.problems)
        source = getattr(args, "spec", None) or next((p.location.source for p in error.problems if p.location), "spec")
        summary = f"{source}: {count} problem{'s' if count != 1 else ''}"
        if error.plugin_bug:  # not the author's mistake: say whose it is
            print(f"{summary}; a plugin failed, which is a bug in that plugin (rerun with {DEBUG_VARIABLE}=1 for "
                  "its traceback)", file=sys.stderr)
            return EXIT_FAILURE
        print(summary, file=sys.stderr)
        return EXIT_SPEC
    except TlspecError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print(OUT_OF_MEMORY, file=sys.stderr)
        return EXIT_FAILURE
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        if type(error).__name__ == "ResourceExhaustedError":  # TensorFlow's out-of-memory, on CPU or GPU
            print(f"{OUT_OF_MEMORY} ({str(error).splitlines()[0][:200]})", file=sys.stderr)
            return EXIT_FAILURE
        print(f"internal error: {type(error).__name__}: {error}\n"
              f"(this is a tlspec bug; rerun with {DEBUG_VARIABLE}=1 for the traceback and report it)",
              file=sys.stderr)
        return EXIT_FAILURE
