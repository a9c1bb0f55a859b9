"""Property-based checks of the flags that name a folder to read (``--data-dir`` of every
command, ``--records`` of reproduce and report): a folder that is missing, empty, a file, or
holds the wrong files stops the command in one line naming what was looked for, although
``KERAS_FCN_DATA_DIR`` and the committed records would have served."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments._cli import one_line, run_main
from keras_fcn import idx

# command -> (module, the arguments it needs to get as far as its work)
COMMANDS = {
    "fashion_dense": ("fashion_dense", []),
    "mnist_dense": ("mnist_dense", []),
    "fashion_cnn": ("fashion_cnn", []),
    "tune": ("tune", ["--tuner", "random", "--quick"]),
    "baselines": ("baselines", ["--quick"]),
    "benchmark": ("benchmark", ["--quick"]),
    "reproduce": ("reproduce", ["chenab", "--quick", "--jobs", "1"]),
    "report": ("report", ["--readme"]),
}
FOLDER_FLAGS = ("--data-dir", "--records")
KINDS = ("missing", "empty", "a file", "wrong files", "some other records")


def _parser(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(f"experiments.{COMMANDS[command][0]}")
    if command in ("fashion_dense", "mnist_dense", "fashion_cnn"):
        family = "lenet" if command == "fashion_cnn" else "dense"
        return importlib.import_module("experiments.fashion_dense").build_parser(
            command, "fashion_mnist", family
        )
    return module.build_parser()


# every (command, flag) pair that names a folder to read, from the commands' own parsers
CASES = sorted(
    (command, option)
    for command in COMMANDS
    for action in _parser(command)._actions
    for option in action.option_strings
    if option in FOLDER_FLAGS
)


def test_the_cases_hold_every_folder_flag():
    assert {c for c, f in CASES if f == "--data-dir"} == set(COMMANDS)
    assert {c for c, f in CASES if f == "--records"} == {"reproduce", "report"}


def _make(folder: Path, kind: str) -> None:
    if kind == "a file":
        folder.write_text("not a folder\n")
    elif kind != "missing":
        folder.mkdir()
    if kind == "wrong files":  # near misses: other names, other extensions
        for name in ("train-images.png", "t10k-labels-idx1-ubyte.zip", "runs.jsonl", "x.csv"):
            (folder / name).write_text("x\n")
    elif kind == "some other records":  # plain JSON lines where gzipped ones are kept
        (folder / "reproduce" / "chenab").mkdir(parents=True)
        (folder / "reproduce" / "chenab" / "runs.jsonl").write_text("{}\n")


class _Reached(BaseException):
    """Raised where a command would start its real work: the folder was accepted."""


def _reached(*args, **kwargs):
    raise _Reached


STUBS = (
    "keras_fcn.train.load_dataset",
    "keras_fcn.single.load_dataset",
    "keras_fcn.data.load",
    "experiments.benchmark._measure_in_child",
    "experiments.reporting.archive.assemble",
)

EXPECTED = {
    ("--data-dir", "missing"): "does not exist; give the folder holding the IDX files of",
    ("--data-dir", "a file"): "is a file; give the folder holding the IDX files of",
    ("--data-dir", "empty"): "holds no copy of Fashion-MNIST or MNIST: looked for",
    ("--records", "missing"): "no such folder; give the folder of committed records",
    ("--records", "a file"): "is a file; give the folder of committed records",
    ("--records", "empty"): "holds no committed records (looked for **/*.jsonl.gz under it)",
}


def _expected(flag: str, kind: str) -> str:
    if kind in ("wrong files", "some other records"):
        kind = "empty"  # none of them is what the flag reads
    return EXPECTED[flag, kind]


@settings(max_examples=60, deadline=None, database=None)
@given(
    case=st.sampled_from(CASES),
    kind=st.sampled_from(KINDS),
    name=st.text(
        st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12
    ).map(lambda n: n.strip().strip(".") or "x"),
)
def test_a_folder_flag_that_names_no_usable_folder_is_one_line(case, kind, name):
    command, flag = case
    module = importlib.import_module(f"experiments.{COMMANDS[command][0]}")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        folder = tmp / "given" / name
        folder.parent.mkdir()
        _make(folder, kind)
        for target in STUBS:
            stack.enter_context(mock.patch(target, _reached))
        err = io.StringIO()
        argv = [*COMMANDS[command][1], flag, str(folder), "--out", str(tmp / "out")]
        with (
            contextlib.redirect_stderr(err),
            contextlib.redirect_stdout(io.StringIO()),
            pytest.raises((SystemExit, _Reached)) as info,
        ):
            run_main(module.main, argv)
        message = err.getvalue()
        assert info.type is SystemExit, f"{command} {flag} ({kind}) was accepted"
        assert info.value.code == 2 and message.count("\n") == 1, message
        assert message.startswith("error: ") and one_line(str(folder)) in message, message
        assert _expected(flag, kind) in message, message
        if flag == "--data-dir" and "looked for" in message:
            assert all(stem in message for stem in idx.FILES), message
        assert not (tmp / "out").exists()


@pytest.mark.parametrize(("command", "flag"), CASES)
def test_a_folder_flag_naming_a_usable_folder_gets_to_the_work(command, flag, synthetic_data):
    """The same flags, given a folder that holds what they read, get as far as the work."""
    from experiments.reporting.archive import write_archived

    module = importlib.import_module(f"experiments.{COMMANDS[command][0]}")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        if flag == "--data-dir":
            folder = synthetic_data[0]
        else:
            folder = tmp / "records"
            write_archived(folder / "reproduce" / "chenab" / "runs.jsonl.gz", [])
        for target in STUBS:
            stack.enter_context(mock.patch(target, _reached))
        argv = [*COMMANDS[command][1], flag, str(folder), "--out", str(tmp / "out")]
        with (
            contextlib.redirect_stdout(io.StringIO()),
            pytest.raises((SystemExit, _Reached)) as info,
        ):
            run_main(module.main, argv)
        assert info.type is _Reached or info.value.code == 0
