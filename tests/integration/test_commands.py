"""The commands: bad input is one line and a non-zero exit; a quick run prints its results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from experiments import fashion_cnn, fashion_dense, reproduce
from experiments._cli import run_main


def _exit_code(main, argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_main(main, argv)
    return info.value.code, capsys.readouterr()


def test_fashion_dense_quick_run_prints_confusion_matrix_and_saves(capsys, tmp_path):
    argv = [
        "--quick",
        "--set",
        "train_limit=2000",
        "--epochs",
        "2",
        "--out",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    code, out = _exit_code(fashion_dense.main, argv, capsys)
    assert code == 0
    assert "test accuracy" in out.out and "rows: true class, columns: predicted class" in out.out
    assert "Ankle boot" in out.out and "precision" in out.out
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    record = json.loads((folder / "record.json").read_text())
    assert (
        record["config"]["train"]["epochs"] == 2 and record["config"]["data"]["train_limit"] == 2000
    )
    for png in ("learning_curves.png", "confusion_matrix.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 1


def test_diverging_run_exits_zero_and_says_so(capsys, tmp_path):
    argv = [
        "--set",
        "train_limit=1000",
        "--epochs",
        "3",
        "--set",
        "learning_rate=1e6",
        "--set",
        "momentum=0.9",
        "--out",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    code, out = _exit_code(fashion_dense.main, argv, capsys)
    assert code == 0 and "DIVERGED: loss became non-finite" in out.out


def test_reproduce_quick_runs_a_table_end_to_end(capsys, tmp_path):
    argv = ["dense-l2", "--quick", "--seeds", "2", "--out", str(tmp_path)]
    code, out = _exit_code(reproduce.main, argv, capsys)
    assert code == 0
    assert "88.39" in out.out  # the published figure, side by side with ours
    assert "\ndense-l2: " in out.out and " by the wall clock; CPU: " in out.out
    folder = tmp_path / "dense-l2-quick"
    # its final row over 2 seeds, and the row's three variants (tanh, deeper, wider)
    assert len((folder / "runs.jsonl").read_text().splitlines()) == 2 * 4
    assert (folder / "comparison.csv").exists() and (folder / "curves_final.png").exists()
    code, out = _exit_code(reproduce.main, argv, capsys)  # a rerun trains nothing
    assert code == 0 and "[" not in out.err
    assert len((folder / "runs.jsonl").read_text().splitlines()) == 2 * 4


def test_importing_the_family_does_not_import_tensorflow():
    code = "import sys, cnn.family; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fashion_cnn_trains_lenet_into_results_fashion_cnn(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--set", "train_limit=1000", "--set", "test_limit=500", "--epochs", "1"]
    code, out = _exit_code(fashion_cnn.main, [*argv, "--verbose", "0"], capsys)
    assert code == 0 and "61,706 parameters" in out.out
    [folder] = [p for p in (tmp_path / "results" / "fashion_cnn").iterdir() if p.is_dir()]
    record = json.loads((folder / "record.json").read_text())
    assert record["family"] == "lenet" and record["config"]["model"]["filters"] == [6, 16, 120]
