"""Argument parsing and error handling shared by the commands."""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from keras_fcn import hardware
from keras_fcn.config import DATASET_NAMES, parse_assignment
from keras_fcn.errors import KerasFcnError, ResultsError


def one_line(message: str) -> str:
    """``message`` with line breaks and other unprintable characters escaped (``\\n``), so
    that an argument typed with a newline in it still gives a one-line error."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line and exit with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def add_data_args(parser: argparse.ArgumentParser, default_dataset: str = "fashion_mnist") -> None:
    """``--dataset`` and ``--data-dir``."""
    parser.add_argument(
        "--dataset", choices=DATASET_NAMES, default=default_dataset, help="default: %(default)s"
    )
    parser.add_argument(
        "--data-dir", help="folder holding the IDX files (searched before KERAS_FCN_DATA_DIR)"
    )


def add_set_arg(parser: argparse.ArgumentParser) -> None:
    """``--set FIELD=VALUE``, repeatable."""
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set any config field, e.g. --set optimizer=adam --set hidden=256,128 (repeatable)",
    )


def add_wait_arg(parser: argparse.ArgumentParser) -> None:
    """``--wait SECONDS``: what the command does when another one is writing its results
    folder (:mod:`keras_fcn.lock`)."""
    parser.add_argument(
        "--wait",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="if another command is writing the same results folder, wait up to this long for "
        "it to end, then go on (inf: as long as it takes; default: stop at once, naming it)",
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if math.isnan(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give seconds, 0 or more (inf: as long as it takes)"
        )
    return seconds


def settings_from(args: argparse.Namespace) -> dict[str, str]:
    """The ``--set`` assignments as a dict, later ones winning."""
    return dict(parse_assignment(text) for text in args.settings)


def check_out(out: str | os.PathLike, flag: str = "--out") -> Path:
    """``out`` as a path, once it is known that a folder can be written there; writes nothing.

    A command calls this right after parsing, so that an unusable results folder stops it
    before any data are loaded or anything is measured, and leaves no folder behind.

    Raises:
        ResultsError: ``out`` is empty, is (or lies under) a file, or lies under a folder that
            cannot be written to.
    """
    if not str(out).strip():
        raise ResultsError(f"{flag} {str(out)!r}: give the path of a results folder")
    path = Path(out)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the nearest folder that would hold the new ones
    if not existing.is_dir():
        why = "it is a file" if existing == path else f"{existing} is a file"
    elif not os.access(existing, os.W_OK | os.X_OK):
        why = f"{existing} is not writable"
    else:
        return path
    # worded as RunStore.check_writable words it, so that both failures read alike
    raise ResultsError(f"cannot write results to {path}: {why}; choose another {flag}")


STORAGE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def run_main(
    main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None
) -> None:
    """Run a command's ``main``; a keras-fcn error, or a full or read-only disk, becomes one
    line on stderr and exit 2."""
    try:
        hardware.fusion_setting()  # a bad environment fails before anything runs
        code = main(argv)
    except KerasFcnError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        if exc.errno not in STORAGE_ERRORS:
            raise
        # e.g. the disk filled while saving figures: the records already appended are kept
        print(
            f"error: cannot write {exc.filename or 'results'}: {exc.strerror}; "
            "finished runs are kept: free space and rerun the same command",
            file=sys.stderr,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        print(
            "interrupted: results written so far are kept; rerun the same command to continue",
            file=sys.stderr,
        )
        sys.exit(130)
    sys.exit(code or 0)
