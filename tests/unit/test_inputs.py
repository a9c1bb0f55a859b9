"""Inputs that used to be accepted silently: each is now one line, exit 2, nothing written."""

from __future__ import annotations

import pytest

from experiments import mnist_dense, report, tune
from keras_fcn.config import DataConfig
from keras_fcn.errors import ConfigError
from keras_fcn.replication import all_studies
from tests.helpers import exit_code


class _Reached(BaseException):
    """Raised where a command would load data: its arguments were accepted."""


@pytest.fixture
def no_work(monkeypatch):
    """Loading data ends the command: an accepted input raises ``_Reached``."""
    from keras_fcn import single, train

    def reached(*args, **kwargs):
        raise _Reached(args)

    monkeypatch.setattr(train, "load_dataset", reached)
    monkeypatch.setattr(single, "load_dataset", reached)


def _one_line_error(main, argv, capsys, tmp_path) -> str:
    code, out = exit_code(main, [*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and out.err.count("\n") == 1 and out.err.startswith("error: "), out.err
    assert "Traceback" not in out.err and not (tmp_path / "out").exists()
    return out.err


@pytest.mark.parametrize("argv", [["--readme", "--study", "nosuch"], ["--readme", "--study", ""]])
def test_report_of_an_unknown_study_lists_the_known_ones(argv, capsys, tmp_path):
    err = _one_line_error(report.main, ["--records", "none", *argv], capsys, tmp_path)
    assert f"unknown study {argv[-1]!r}; choose one of " in err
    assert all(name in err for name in all_studies())


def test_report_of_a_known_study_prints_its_table_or_the_command(capsys, tmp_path):
    code, out = exit_code(
        report.main,
        ["--records", "none", "--results", str(tmp_path), "--readme", "--study", "chenab"],
        capsys,
    )
    assert code == 0 and "not run yet: python -m experiments.reproduce chenab" in out.out


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_tune_refuses_fewer_than_one_worker(workers, no_work, capsys, tmp_path):
    err = _one_line_error(tune.main, ["--workers", workers, "--quick"], capsys, tmp_path)
    assert f"--workers {workers}: must be 1 or more (leave it out" in err


def test_tune_without_workers_searches_in_this_process(no_work, tmp_path):
    with pytest.raises(_Reached):
        tune.main(["--quick", "--tuner", "random", "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(
    "argv", [["--dataset", "fashion_mnist"], ["--set", "dataset=fashion_mnist"]]
)
def test_mnist_dense_refuses_another_dataset(argv, no_work, capsys, tmp_path):
    err = _one_line_error(mnist_dense.main, [*argv, "--quick"], capsys, tmp_path)
    assert "experiments.mnist_dense trains on mnist only, not fashion_mnist" in err
    assert "use experiments.fashion_dense --dataset fashion_mnist" in err


@pytest.mark.parametrize("argv", [[], ["--dataset", "mnist"]])
def test_mnist_dense_trains_on_mnist(argv, no_work, tmp_path):
    with pytest.raises(_Reached) as info:
        mnist_dense.main([*argv, "--quick", "--out", str(tmp_path / "out")])
    assert info.value.args[0][0].dataset == "mnist"  # load_dataset(config.data, data_dir)


@pytest.mark.parametrize("value", [1.5, -0.1, 60_000, 1.0 + 1e-9, float("nan"), "x", True])
def test_a_bad_validation_states_both_allowed_forms(value):
    with pytest.raises(ConfigError) as info:
        DataConfig(validation=value)
    message = str(info.value)
    assert "must be a fraction in (0, 1) of the training images, or a whole number" in message
    assert "[0, 59,999]" in message


@pytest.mark.parametrize(("value", "held"), [(0.25, 0.25), (5000, 5000), (5000.0, 5000), (0, 0)])
def test_validation_takes_a_fraction_or_a_count(value, held):
    assert DataConfig(validation=value).validation == held
    assert type(DataConfig(validation=value).validation) is type(held)
