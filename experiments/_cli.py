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

from keras_fcn import hardware, layout
from keras_fcn.config import DATASET_NAMES
from keras_fcn.errors import ConfigError, KerasFcnError
from keras_fcn.estimate import duration
from keras_fcn.quiet import quiet_start_up
from keras_fcn.settings import parse_assignment


def one_line(message: str) -> str:
    """``message`` with line breaks and other unprintable characters escaped (``\\n``), so
    that an argument typed with a newline in it still gives a one-line error."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line and exit with status 2, and which
    checks a ``--data-dir`` as soon as it is parsed."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "data_dir", None) is not None:
            from keras_fcn.data_sources import check_data_dir

            # any dataset will do here (--set may change which one is loaded); loading
            # checks the folder again for the dataset it wants
            check_data_dir(parsed.data_dir)
        return parsed


def add_data_args(parser: argparse.ArgumentParser, default_dataset: str = "fashion_mnist") -> None:
    """``--dataset`` and ``--data-dir``."""
    parser.add_argument(
        "--dataset", choices=DATASET_NAMES, default=default_dataset, help="default: %(default)s"
    )
    add_data_dir_arg(parser)


def add_data_dir_arg(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """``--data-dir DIR``, checked by :class:`Parser` as soon as it is parsed."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"folder holding the IDX files{purpose}; it must hold them (without it: "
        "KERAS_FCN_DATA_DIR, then the usual places, then a download; docs/data.md)",
    )


def add_set_arg(parser: argparse.ArgumentParser) -> None:
    """``--set FIELD=VALUE``, repeatable."""
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set any config field, e.g. --set optimizer=adam --set hidden=256-128 (repeatable)",
    )


def add_engine_args(
    parser: argparse.ArgumentParser, jobs_default: str = "1, in this process"
) -> None:
    """``--jobs``, ``--threads-per-run`` and ``--ray-address``."""
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help=f"train N runs at once on a local Ray instance (default: {jobs_default}; see docs/cluster.md)",
    )
    parser.add_argument(
        "--threads-per-run",
        type=int,
        metavar="T",
        help="TensorFlow threads of each run with --jobs or --ray-address (default: cores // N, 1 on a cluster)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="run on the Ray cluster there (ray start --head) instead; default: $RAY_ADDRESS",
    )


def add_records_arg(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--records DIR``: the committed records (``none`` for none)."""
    parser.add_argument(
        "--records",
        metavar="DIR",
        help=f"{help_text}; 'none' for none (default: {layout.ARCHIVE}, when it exists)",
    )


def records_folder(text: str | None, *, written: bool = False) -> Path | None:
    """The folder ``--records`` names: None for ``none``; the committed records when the flag
    is left out (read if present, as on a fresh clone).

    A folder named on purpose must exist and hold archived records, unless records are to be
    ``written`` there: a typo must not read as "no records".

    Raises:
        ConfigError: the folder is missing, is a file, or holds no archived records.
    """
    if text is None:
        return layout.ARCHIVE
    if text.strip().lower() == "none":
        return None
    path = Path(text)
    what = f"give the folder of committed records (e.g. {layout.ARCHIVE}) or 'none'"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--records {text}: is a file; {what}")
    if written:
        return path
    if not path.is_dir():
        raise ConfigError(f"--records {text}: no such folder; {what}")
    from experiments.reporting.archive import SUFFIX

    if not any(path.glob(f"**/*.jsonl{SUFFIX}")):
        raise ConfigError(
            f"--records {text}: holds no committed records (looked for **/*.jsonl{SUFFIX} "
            f"under it); {what}"
        )
    return path


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


def print_wall_time(what: str, started: float) -> None:
    """Print that ``what`` took this long by the wall clock since ``started`` (a
    ``time.monotonic()``), with the CPU it ran on: its model, cores and speed flags."""
    import time

    from experiments.bench.limits import cpu_flags
    from experiments.bench.table import describe_cpu

    cpu = describe_cpu(cpu_flags(), len(os.sched_getaffinity(0)))
    print(f"{what}: {duration(time.monotonic() - started)} by the wall clock; {cpu}")


def check_out(out: str | os.PathLike, flag: str = "--out") -> Path:
    """``out`` as a path, once it is known that a folder can be written there; writes nothing
    (:func:`keras_fcn.layout.writable_folder`)."""
    return layout.writable_folder(out, flag)


STORAGE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def run_main(
    main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None
) -> None:
    """Run a command's ``main``; a keras-fcn error, or a full or read-only disk, becomes one
    line on stderr and exit 2. TensorFlow's start-up lines are kept out of its output
    (:mod:`keras_fcn.quiet`; ``TF_CPP_MIN_LOG_LEVEL=0`` shows them)."""
    quiet_start_up()
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
