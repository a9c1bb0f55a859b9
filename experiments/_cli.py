"""Argument parsing and error handling shared by the commands."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from keras_fcn import hardware, layout
from keras_fcn.config import DATASET_NAMES, parse_assignment
from keras_fcn.errors import KerasFcnError


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


def settings_from(args: argparse.Namespace) -> dict[str, str]:
    """The ``--set`` assignments as a dict, later ones winning."""
    return dict(parse_assignment(text) for text in args.settings)


def check_out(out: str | os.PathLike, flag: str = "--out") -> Path:
    """``out`` as a path, once it is known that a folder can be written there; writes nothing
    (:func:`keras_fcn.layout.writable_folder`)."""
    return layout.writable_folder(out, flag)


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
