"""The ``survey`` command: a thin layer over the library. Each subcommand lives in its own
module here and registers itself with :func:`register` (``COMMANDS`` lists them in help order)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..config import Config, load_config
from ..errors import SurveyError

COMMANDS = ["ingest", "bib", "taxonomy", "classify", "eval", "train", "check", "build", "enrich"]


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Options every project command takes: the project file and path overrides."""
    parser.add_argument("--config", metavar="PATH", help="survey.toml to use (default: search upward from here)")


def config_from(args: argparse.Namespace, **overrides) -> Config:
    """The project config with any command-line overrides applied."""
    config = load_config(getattr(args, "config", None))
    return config.with_overrides(**overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="survey",
        description="surveylib: ingest abstracts, build the bibliography and taxonomy, assemble the survey.",
    )
    parser.add_argument("--version", action="version", version=f"surveylib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"cli.{name}"):
                continue  # command not written yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SurveyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; outputs written so far are complete (writes are atomic)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`survey eval ... | head`): not an error of ours, and no traceback.
        # Point stdout at /dev/null so that Python's flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
