"""``experiments.baselines`` through the runner, in process and on a fake engine, on tiny data:
a selection recorded is not fitted again, each is recorded once with its table, and one that
fails is named, leaves the others recorded, and is fitted by the next run of the command."""

from __future__ import annotations

import pytest

from experiments import baselines as command
from keras_fcn.errors import KerasFcnError
from keras_fcn.record import RunStore
from tests.unit.test_baselines_selection import _dataset
from tests.unit.test_cluster import FakeEngine

ARGV = ["--quick", "--only", "knn-5"]


class Engine(FakeEngine):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


@pytest.fixture(autouse=True)
def _tiny_data(monkeypatch):
    monkeypatch.setattr("keras_fcn.train.load_dataset", lambda config, data_dir: _dataset())


def _run(tmp_path, engine=None, monkeypatch=None) -> RunStore:
    if engine is not None:
        monkeypatch.setattr(command, "engine_from", lambda *args: engine)
    assert command.main([*ARGV, "--out", str(tmp_path / "out")]) == 0
    return RunStore(tmp_path / "out-quick" / "runs.jsonl")


def _fail_on(monkeypatch, dataset: str) -> None:
    from baselines import selection

    real = selection.select_and_test

    def select(baseline, data, data_config):
        if data_config.dataset == dataset:
            raise RuntimeError("no memory for this one")
        return real(baseline, data, data_config)

    monkeypatch.setattr(selection, "select_and_test", select)


def test_in_process_each_selection_is_fitted_once_and_recorded_with_its_table(tmp_path, capsys):
    store = _run(tmp_path)
    out = capsys.readouterr().out
    assert out.count("knn-5: k-nearest neighbours") == 2 and "chosen on validation" in out
    assert [r.config["data"]["dataset"] for r in store] == ["fashion_mnist", "mnist"]
    assert (tmp_path / "out-quick" / "selection_knn-5_mnist.csv").exists()
    table = out[out.index("| dataset") :].splitlines()[2:4]
    assert [line.split("|")[1].strip() for line in table] == ["fashion_mnist", "mnist"]
    _run(tmp_path)
    again = capsys.readouterr().out
    assert "trying" not in again and again[again.index("| dataset") :].splitlines()[2:4] == table
    assert len(store.records()) == 2


def test_in_process_a_failing_selection_is_named_and_fitted_next_time(tmp_path, monkeypatch):
    _fail_on(monkeypatch, "fashion_mnist")
    with pytest.raises(KerasFcnError, match="fashion_mnist / knn-5: RuntimeError: no memory"):
        _run(tmp_path)
    store = RunStore(tmp_path / "out-quick" / "runs.jsonl")
    assert [r.config["data"]["dataset"] for r in store] == ["mnist"]
    monkeypatch.undo()
    monkeypatch.setattr("keras_fcn.train.load_dataset", lambda config, data_dir: _dataset())
    _run(tmp_path)
    assert [r.config["data"]["dataset"] for r in store] == ["mnist", "fashion_mnist"]


def test_on_an_engine_each_selection_is_recorded_once_as_it_ends(tmp_path, monkeypatch, capsys):
    store = _run(tmp_path, Engine(duplicate=2), monkeypatch)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert [line.split(":")[0] for line in lines] == [
        "[1/2] mnist / knn-5",
        "[2/2] fashion_mnist / knn-5",
    ]
    assert lines[0].endswith("; 1 running") and "validation" in lines[0]
    assert len(store.records()) == 2
    engine = Engine()
    _run(tmp_path, engine, monkeypatch)
    assert engine.given == [[]] and len(store.records()) == 2


def test_on_an_engine_a_lost_selection_is_named_and_the_others_kept(tmp_path, monkeypatch, capsys):
    with pytest.raises(KerasFcnError, match="fashion_mnist / knn-5: WorkerCrashedError"):
        _run(tmp_path, Engine(lose=1), monkeypatch)
    assert "[2/2] fashion_mnist / knn-5: WorkerCrashedError" in capsys.readouterr().out
    store = RunStore(tmp_path / "out-quick" / "runs.jsonl")
    assert [r.config["data"]["dataset"] for r in store] == ["mnist"]
    engine = Engine()
    _run(tmp_path, engine, monkeypatch)
    assert len(engine.given[0]) == 1 and len(store.records()) == 2
