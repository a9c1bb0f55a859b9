"""The commands: bad input is one line and a non-zero exit; a quick run prints its results."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments import fashion_dense, reproduce
from experiments._cli import run_main


def _exit_code(main, argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_main(main, argv)
    return info.value.code, capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "dropout=2"], "error: dropout=2.0 is invalid: must be a number in [0.0, 1.0)"),
        (
            ["--set", "optimizer=adagrad"],
            "error: optimizer='adagrad' is invalid: choose one of sgd, adam, rmsprop",
        ),
        (["--set", "widht=3"], "error: unknown field 'widht'; known fields:"),
        (["--set", "dropout"], "error: --set 'dropout': expected FIELD=VALUE"),
        (["--epochs", "0"], "error: epochs=0 is invalid"),
        (["\n"], "experiments.fashion_dense: error: unrecognized arguments: \\n"),
    ],
)
def test_fashion_dense_rejects_bad_settings_in_one_line(argv, message, capsys, tmp_path):
    code, out = _exit_code(fashion_dense.main, [*argv, "--out", str(tmp_path)], capsys)
    assert code == 2
    assert out.err.startswith(message) and out.err.count("\n") == 1
    assert not list(tmp_path.iterdir()), "nothing is written before the settings are valid"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nobody"], "error: unknown study 'nobody'; choose one of chenab, dense-l2, hippe"),
        (
            ["chenab", "--only", "nope", "--dry-run"],
            "error: study 'chenab' has no table 'nope'; its tables: baseline",
        ),
        (["chenab", "--set", "dropout=7", "--dry-run"], "error: dropout=7.0 is invalid"),
        (["chenab", "--grid"], "error: study 'chenab' has no grid; --grid works for: lybbert"),
        (["chenab", "--seeds", "0"], "error: --seeds 0: must be at least 1"),
    ],
)
def test_reproduce_rejects_bad_input_in_one_line(argv, message, capsys, tmp_path):
    code, out = _exit_code(reproduce.main, [*argv, "--out", str(tmp_path)], capsys)
    assert code == 2 and out.err.startswith(message) and out.err.count("\n") == 1


def test_reproduce_dry_run_lists_runs(capsys, tmp_path):
    code, out = _exit_code(
        reproduce.main, ["konycheva", "--dry-run", "--out", str(tmp_path)], capsys
    )
    assert code == 0
    assert "topology" in out.out and "T5" in out.out and "activation" in out.out


def _files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["lybbert", "--grid", "--max-runs", "-1", "--dry-run"],
            "error: --max-runs -1: must be at least 1",
        ),
        (["chenab", "--grid", "--max-runs", "0"], "error: --max-runs 0: must be at least 1"),
        (["chenab", "--max-runs", "3", "--dry-run"], "error: --max-runs works only with --grid"),
        (["lybbert", "--grid-seed", "1", "--dry-run"], "error: --grid-seed works only with --grid"),
        (
            ["lybbert", "--grid", "--only", "final", "--dry-run"],
            "error: --only picks tables; --grid runs",
        ),
    ],
)
def test_reproduce_rejects_grid_flags_it_cannot_use_in_one_line(argv, message, capsys, tmp_path):
    code, out = _exit_code(reproduce.main, [*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and out.err.startswith(message) and out.err.count("\n") == 1
    assert not _files_under(tmp_path)


class _Reached(BaseException):
    """Raised where a command would start measuring or loading: it must not get there."""


def _unusable_out(tmp_path, kind: str) -> str:
    (tmp_path / "a_file").write_text("x")
    return str(tmp_path / "a_file" / ("sub" if kind == "under a file" else ""))


@pytest.fixture
def no_work(monkeypatch):
    """Stop the benchmark and the report where their real work starts."""
    from experiments import benchmark
    from keras_fcn import data

    def reached(*args, **kwargs):
        raise _Reached

    monkeypatch.setattr(benchmark, "_measure_in_child", reached)
    monkeypatch.setattr(benchmark, "data_of", reached)
    monkeypatch.setattr(data, "load", reached)


@pytest.mark.parametrize("command", ["benchmark", "report"])
@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_unusable_out_is_one_line_before_any_work(command, kind, no_work, capsys, tmp_path):
    import importlib

    main = importlib.import_module(f"experiments.{command}").main
    out_arg = _unusable_out(tmp_path, kind).rstrip("/")
    argv = ["--out", out_arg] + (
        ["--records", "none", "--results", str(tmp_path)] if command == "report" else []
    )
    code, out = _exit_code(main, argv, capsys)
    assert code == 2 and out.err.count("\n") == 1 and "Traceback" not in out.err
    assert out.err.startswith(f"error: cannot write results to {out_arg}: ")
    assert "is a file; choose another --out" in out.err
    assert _files_under(tmp_path) == [Path("a_file")]


def test_benchmark_without_a_model_is_one_line(no_work, capsys, tmp_path):
    from experiments import benchmark

    argv = ["--models", " , ", "--trials", "0", "--out", str(tmp_path / "out")]
    code, out = _exit_code(benchmark.main, argv, capsys)
    assert code == 2 and out.err.startswith("error: --models ' , ': name at least one of dense")
    assert not _files_under(tmp_path)
    argv = ["--models", "none", "--trials", "0", "--search", "0", "--out", str(tmp_path / "out")]
    code, out = _exit_code(benchmark.main, argv, capsys)
    assert out.err == (
        "error: --models none --trials 0 --search 0: nothing to measure; "
        "give --trials N or --search N\n"
    )
    assert code == 2 and not _files_under(tmp_path)
    argv = ["--models", "dense", "--cases", "resnet", "--out", str(tmp_path / "out")]
    code, out = _exit_code(benchmark.main, argv, capsys)
    assert out.err.startswith("error: --cases 'resnet': no case of dense matches; the cases: ")
    assert code == 2 and not _files_under(tmp_path)


def test_benchmark_of_no_model_plans_no_case_and_no_limit():
    from experiments import benchmark

    assert benchmark.plan([], [None, "jax"]) == []
    assert benchmark.plan(["lenet"], [None])[0] == (benchmark.LIMITS, None)
    assert benchmark.plan(["lenet"], [None], ["no such case"]) == []
    chosen = benchmark.plan(["dense", "lenet"], [None], ["batch_size=32"])
    assert [case.name for case, _ in chosen[1:]] == [
        "dense/pytorch/reference loop batch_size=32",
        "dense/pytorch/bfloat16 autocast batch_size=32",
        "dense/keras-fcn/batch_size=32",
        "dense/keras-fcn/batch_size=32 precision=mixed_bfloat16 jit_compile=off",
        "dense/keras-fcn/batch_size=32 precision=float32 jit_compile=off",
    ]


def test_report_study_without_readme_is_one_line(no_work, capsys, tmp_path):
    from experiments import report

    argv = ["--results", str(tmp_path), "--study", "chenab", "--out", str(tmp_path / "r")]
    code, out = _exit_code(report.main, argv, capsys)
    assert code == 2 and out.err == "error: --study works only with --readme\n"
    assert not _files_under(tmp_path)


def test_a_bad_fusion_setting_is_one_line_before_any_work(no_work, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_FCN_TF_FUSION", "yes")
    code, out = _exit_code(fashion_dense.main, ["--out", str(tmp_path / "out")], capsys)
    assert code == 2 and out.err.count("\n") == 1
    assert out.err == "error: KERAS_FCN_TF_FUSION='yes': use on, off or auto (the default)\n"
    assert not (tmp_path / "out").exists()
