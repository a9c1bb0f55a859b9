"""The check of PyTorch studies against a plain PyTorch loop, without PyTorch: the rows it
picks, the record's framework, the table and readings from constructed records, the page
section and the command's flags. The loop itself is tested in test_pytorch_loop.py."""

from __future__ import annotations

import dataclasses
import importlib
import sys

import pytest

from experiments import reproduce as reproduce_command
from experiments.reporting.pages import _study_section
from experiments.reporting.studies import crosscheck_markdown, rebuild_studies, write_crosscheck
from keras_fcn import layout, registry
from keras_fcn.errors import ConfigError, KerasFcnError
from keras_fcn.family import DENSE
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.replication import RerunOptions, all_studies, get_study, reproduce
from keras_fcn.replication.crosscheck import (
    checked_rows,
    crosscheck_table,
    difference_interval,
    differing,
    train_crosscheck,
)
from keras_fcn.reporting.records import find_records
from keras_fcn.study import with_seeds

SEEDS = [42, 43, 44]
CHECKED = [p for p in all_studies().values() if p.crosscheck]


def _record(run, accuracy: float, framework: str = "keras") -> RunRecord:
    record = RunRecord(run.run_id, "dense", run.to_dict(), run.train.seed, framework=framework)
    return dataclasses.replace(record, test_accuracy=accuracy, best_val_accuracy=accuracy)


def test_the_pytorch_studies_check_their_baseline_and_final_rows():
    names = {p.name: p.crosscheck for p in CHECKED}
    assert names == {
        "chenab": ("baseline", "final", "mnist_final"),
        "hippe": ("table1/1", "final", "mnist_final"),
        "konycheva": ("topology/T4", "final"),
        "lybbert": ("table1/ID 111", "table2/ID 117", "table2/ID 129"),
    }


@pytest.mark.parametrize("protocol", CHECKED, ids=lambda p: p.name)
def test_checked_rows_are_runs_of_the_keras_re_run(protocol, tmp_path):
    rows = checked_rows(protocol, DENSE, [], SEEDS)
    assert {row.spec.name for row in rows} == {e.partition("/")[0] for e in protocol.crosscheck}
    results = reproduce(protocol, DENSE, [], RerunOptions(seeds=SEEDS, load=None, dry_run=True))
    keras_ids = {
        r.run_id
        for result in results
        for _, run in result.rows
        if run
        for r in with_seeds([run], SEEDS)
    }
    for row in rows:
        assert [r.train.seed for r in row.runs] == SEEDS
        assert {r.run_id for r in row.runs} <= keras_ids  # the same run ids as ours


def test_a_crosscheck_naming_no_row_fails_in_one_line(tmp_path):
    protocol = dataclasses.replace(get_study("hippe"), crosscheck=("table1/99",))
    with pytest.raises(ConfigError, match="names no row of table1; its rows: 1, 2"):
        checked_rows(protocol, DENSE, RunStore(tmp_path / "r.jsonl"), SEEDS)
    protocol = dataclasses.replace(protocol, crosscheck=("tabel1",))
    with pytest.raises(ConfigError, match="no table 'tabel1'"):
        checked_rows(protocol, DENSE, RunStore(tmp_path / "r.jsonl"), SEEDS)


def test_a_pytorch_record_says_so_and_a_keras_records_json_is_unchanged():
    run = DENSE.run_config()
    keras_record = _record(run, 0.8)
    assert "framework" not in keras_record.to_dict()
    assert RunRecord.from_dict(keras_record.to_dict()).framework == "keras"
    torch_record = _record(run, 0.8, "pytorch")
    assert torch_record.to_dict()["framework"] == "pytorch"
    assert RunRecord.from_dict(torch_record.to_dict()) == torch_record
    assert torch_record.run_id == keras_record.run_id == run.run_id


def test_the_reports_records_leave_out_the_pytorch_loops(tmp_path):
    run = DENSE.run_config()
    RunStore(tmp_path / "reproduce" / "x" / "runs.jsonl").append(_record(run, 0.8))
    RunStore(tmp_path / "reproduce" / "x" / layout.PYTORCH_RUNS).append(
        _record(run, 0.5, "pytorch")
    )
    assert [r.test_accuracy for r in find_records(tmp_path)] == [0.8]


def _stores(tmp_path, keras: dict, pytorch: dict) -> tuple[RunStore, RunStore, list]:
    """The two stores of chenab's checked rows, each row's accuracies by seed."""
    protocol = get_study("chenab")
    rows = checked_rows(protocol, DENSE, [], SEEDS)
    stores = RunStore(tmp_path / layout.RUNS), RunStore(tmp_path / layout.PYTORCH_RUNS)
    for store, values, framework in zip(
        stores, (keras, pytorch), ("keras", "pytorch"), strict=True
    ):
        for row in rows:
            for run, accuracy in zip(row.runs, values[row.spec.name], strict=True):
                store.append(_record(run, accuracy, framework))
    return *stores, rows


# chenab publishes 85.68 (baseline), 90.19 (final) and 98.4 (mnist_final)
KERAS = {
    "baseline": [0.856, 0.857, 0.858],
    "final": [0.880, 0.881, 0.879],
    "mnist_final": [0.950, 0.951, 0.949],
}
PYTORCH = {
    "baseline": [0.857, 0.856, 0.858],
    "final": [0.8805, 0.8795, 0.881],
    "mnist_final": [0.984, 0.983, 0.985],
}


def test_each_row_says_whether_a_difference_is_the_ports_or_the_papers(tmp_path):
    ours, pytorch, _ = _stores(tmp_path, KERAS, PYTORCH)
    table = crosscheck_table(get_study("chenab"), DENSE, ours, pytorch, SEEDS)
    readings = dict(zip(table["table"], table["reading"], strict=True))
    assert readings == {
        "baseline": "all three agree",
        "final": "PyTorch and ours agree, both differ from the paper: the paper's difference",
        "mnist_final": "ours differ from PyTorch, which matches the paper: the port's",
    }
    final = table[table["table"] == "final"].iloc[0]
    assert final["ours"] == pytest.approx(0.880) and final["pytorch"] == pytest.approx(
        0.88033, abs=1e-5
    )
    assert final["ours_n"] == final["pytorch_n"] == 3
    assert final["low"] < final["difference"] < final["high"]


def test_rows_without_pytorch_runs_or_with_one_seed_are_not_compared(tmp_path):
    ours, _, _ = _stores(tmp_path, KERAS, PYTORCH)
    table = crosscheck_table(get_study("chenab"), DENSE, ours, [], SEEDS)
    assert set(table["reading"]) == {"PyTorch loop not run"}
    one = crosscheck_table(get_study("chenab"), DENSE, ours, ours, SEEDS[:1])
    assert set(one["reading"]) == {"fewer than two seeds on a side: not compared"}


def test_the_difference_interval_is_welchs():
    low, high = difference_interval([0.80, 0.81, 0.82], [0.70, 0.71, 0.72])
    assert low < 0.10 < high and low > 0
    assert difference_interval([0.8, 0.8], [0.7, 0.7]) == pytest.approx((0.1, 0.1))
    assert all(v != v for v in difference_interval([0.8], [0.7, 0.71]))  # NaN: one seed


def test_the_page_section_states_its_rule_and_shows_each_side(tmp_path):
    ours, pytorch, _ = _stores(tmp_path, KERAS, PYTORCH)
    table = crosscheck_table(get_study("chenab"), DENSE, ours, pytorch, SEEDS)
    text = crosscheck_markdown(table, "chenab", SEEDS)
    assert "python -m experiments.reproduce chenab --pytorch --seeds 3" in text
    assert "Welch's t" in text and "(42, 43, 44)" in text
    header = next(line for line in text.splitlines() if line.startswith("| table"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "table",
        "row",
        "metric",
        "published %",
        "ours (Keras) %",
        "PyTorch loop %",
        "ours − PyTorch (95 % CI)",
        "reading",
    ]
    final = next(line for line in text.splitlines() if line.startswith("| final"))
    assert "88.00 ± 0.10 (3)" in final and "88.03 ± 0.08 (3)" in final


def test_the_study_page_includes_the_check_rebuilt_from_the_records(tmp_path):
    folder = layout.study("chenab", tmp_path)
    _stores(folder, KERAS, PYTORCH)
    rebuild_studies(tmp_path, registry.families())
    assert (folder / layout.CROSSCHECK).exists()
    page = "\n".join(_study_section(folder, None))
    assert "## Checked against PyTorch itself" in page
    assert "the paper's difference" in page
    # a study without PyTorch records has no such section
    (folder / layout.PYTORCH_RUNS).unlink()
    (folder / layout.CROSSCHECK).unlink()
    assert write_crosscheck(folder, get_study("chenab"), DENSE) is None
    assert "PyTorch itself" not in "\n".join(_study_section(folder, None))


def test_the_check_trains_what_its_store_lacks_with_the_runs_command(tmp_path):
    calls = []

    def trainer(family, run, data):
        calls.append(run.run_id)
        return _record(run, 0.85, "pytorch")

    protocol, store = get_study("konycheva"), RunStore(tmp_path / layout.PYTORCH_RUNS)

    def train():
        return train_crosscheck(
            protocol,
            DENSE,
            store,
            RerunOptions(SEEDS[:2], load=lambda data: None, trainer=trainer),
            command=lambda run: f"again {run.train.seed}",
        )

    records = train()
    assert len(records) == len(calls) == 4  # T4 and final, two seeds each
    assert {r.command for r in records} == {"again 42", "again 43"}
    assert {r.framework for r in store} == {"pytorch"}
    train()
    assert len(calls) == 4  # resumed: nothing left to train


def test_the_command_lists_the_checked_runs_without_pytorch(tmp_path, capsys):
    reproduce_command.main(["hippe", "--pytorch", "--dry-run", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "table1 1:" in out and "final 1:" in out and "mnist_final 1:" in out
    assert "3 runs, 0 recorded in PyTorch" in out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--grid"], "drop --grid"),
        (["--only", "final"], "drop --only"),
        (["--set", "epochs=2"], "drop --set"),
        (["--jobs", "2"], "trains in this process"),
        (["--threads-per-run", "0"], "must be at least 1"),
    ],
)
def test_the_command_refuses_flags_the_check_would_ignore(flags, message):
    with pytest.raises(ConfigError, match=message):
        reproduce_command.main(["chenab", "--pytorch", "--dry-run", *flags])


def test_without_pytorch_the_loop_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.delitem(sys.modules, "keras_fcn.pytorch_loop", raising=False)
    with pytest.raises(KerasFcnError, match=r"pip install -e \.\[bench\]"):
        importlib.import_module("keras_fcn.pytorch_loop")


def test_rows_that_differ_from_the_paper_can_be_checked_and_are_then_shown(tmp_path):
    protocol = get_study("chenab")
    ours, _, _ = _stores(tmp_path, KERAS, PYTORCH)
    # a dropout row of ours far under the paper, one within it, the others not run
    rows = {r.row.row: r for r in checked_rows(protocol, DENSE, [], SEEDS, entries=("dropout",))}
    for run, accuracy in zip(rows["2"].runs, (0.80, 0.801, 0.799), strict=True):
        ours.append(_record(run, accuracy))
    assert differing(protocol, DENSE, ours, SEEDS) == ["dropout/2"]  # final: checked already
    pytorch = RunStore(tmp_path / "more.jsonl")
    for run in rows["2"].runs:
        pytorch.append(_record(run, 0.80, "pytorch"))
    table = crosscheck_table(protocol, DENSE, ours, pytorch, SEEDS)
    # the baseline's run is a row of three more tables, shown once
    assert list(dict.fromkeys(table["table"])) == ["baseline", "final", "mnist_final", "dropout"]
    dropout = table[table["table"] == "dropout"]
    assert list(dropout["metric"]) == ["val_accuracy", "test_accuracy"]  # as published
    assert set(dropout["row"]) == {"2"} and set(dropout["pytorch_n"]) == {3}


def test_differing_rows_need_the_pytorch_flag():
    with pytest.raises(ConfigError, match="--differing works only with --pytorch"):
        reproduce_command.main(["chenab", "--differing", "--dry-run"])
