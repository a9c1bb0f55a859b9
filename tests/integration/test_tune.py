"""Every tuner through ``python -m experiments.tune`` on tiny data: to the final model, after
``kill -9``, with TensorBoard, and a changed command starting its own search."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import tune
from experiments._cli import run_main
from keras_fcn.record import RunRecord, RunStore
from tests.helpers import ROOT, SPACES

# nine settings, so that every tuner finds new ones; the data are tiny
COMMON = [
    "--family",
    "dense",
    "--search",
    "learning_rate,activation",
    "--only",
    "learning_rate=0.001,0.01,0.1",
    "--only",
    "activation=relu,tanh,elu",
    "--set",
    "hidden=16",
    "--set",
    "validation=200",
    "--set",
    "test_limit=200",
    "--max-epochs",
    "2",
    "--final-seeds",
    "1",
]
TUNERS = {
    # the grid of four settings
    "grid": [
        "--tuner",
        "grid",
        "--only",
        "learning_rate=0.001,0.01",
        "--only",
        "activation=relu,tanh",
    ],
    "random": ["--tuner", "random", "--trials", "4"],
    "bayesian": ["--tuner", "bayesian", "--trials", "4"],
    # max_epochs 3, factor 3: brackets of 3 trials (1 epoch, the best one continued for 3)
    # and of 2 trials (3 epochs): 6 trials in all
    "hyperband": ["--tuner", "hyperband", "--max-epochs", "3", "--factor", "3"],
}
EXPECTED_TRIALS = {"grid": 4, "random": 4, "bayesian": 4, "hyperband": 6}


def search_folder(out: Path) -> Path:
    """The only search folder under ``out``."""
    [folder] = [p for p in out.iterdir() if (p / "search.json").exists()]
    return folder


def trials(folder: Path) -> list[dict[str, str]]:
    with open(folder / "trials.csv") as f:
        return list(csv.DictReader(f))


def run(argv: list[str], capsys) -> str:
    """Run the command in this process; return what it printed."""
    with pytest.raises(SystemExit) as info:
        run_main(tune.main, argv)
    out = capsys.readouterr()
    assert info.value.code == 0, out.err[-2000:]
    return out.out


def started_trials(out: Path) -> list[Path]:
    return sorted(out.glob("*/search/trial_*/trial.json"))


# random's and grid's oracles keep the least state: their kills run with `make test-slow`
# (grid's resume is also tested in tests/unit/test_tuning.py)
@pytest.mark.parametrize(
    "tuner",
    [
        t if t in ("hyperband", "bayesian") else pytest.param(t, marks=pytest.mark.slow)
        for t in TUNERS
    ],
)
def test_tuner_resumes_after_kill_9_and_runs_to_its_final_model(tuner, tmp_path, capsys):
    """Kill the search while a trial trains; the same command completes every trial once and
    retrains the best setting."""
    # more images than the other tests: each trial lasts long enough to be killed in
    argv = [*COMMON, *TUNERS[tuner], "--set", "train_limit=3000", "--out", str(tmp_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "experiments.tune", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(started_trials(tmp_path)) < 2:  # one done, the next one training
            assert process.poll() is None, "the search ended before it could be killed"
            assert time.monotonic() < deadline, "no second trial started"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    folder = search_folder(tmp_path)
    assert not (folder / "summary.json").exists(), "killed mid-search"
    interrupted = [
        p.parent.name.removeprefix("trial_")
        for p in started_trials(tmp_path)
        if json.loads(p.read_text())["status"] == "RUNNING"
    ]

    printed = run(argv, capsys)
    assert f"resuming the search in {folder}" in printed
    table = trials(folder)
    ids = [t["trial_id"] for t in table]
    assert len(ids) == len(set(ids)) == EXPECTED_TRIALS[tuner]
    assert {t["status"] for t in table} == {"COMPLETED"}
    assert set(interrupted) <= set(ids), "the interrupted trial ran again, under its own id"
    if tuner == "grid":
        assert len({(t["learning_rate"], t["activation"]) for t in table}) == 4
    summary = json.loads((folder / "summary.json").read_text())
    finals = [r for r in RunStore(folder / "final_runs.jsonl") if r.status == "ok"]
    assert [r.run_id for r in finals] == summary["final_run_ids"]
    assert (folder / "best_model.keras").exists()
    assert f"dense-fashion_mnist-{tuner}-" in folder.name


def test_tensorboard_logs_hold_the_hparams_of_every_trial(tmp_path, capsys):
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    argv = [*COMMON, *TUNERS["random"], "--trials", "2", "--set", "train_limit=300"]
    run([*argv, "--tensorboard", "--out", str(tmp_path)], capsys)
    folder = search_folder(tmp_path)
    logged = {}
    for events in (folder / "tensorboard").rglob("events.out.tfevents.*"):
        accumulator = event_accumulator.EventAccumulator(str(events.parent))
        accumulator.Reload()
        if not any("hparams" in tag for tag in accumulator.Tags()["tensors"]):
            continue  # the train/ and validation/ logs hold the curves only
        for content in accumulator.PluginTagToContent("hparams").values():
            start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
            if start.hparams:
                # the folders are tensorboard/TRIAL_ID/executionN
                trial_id = events.relative_to(folder / "tensorboard").parts[0]
                logged[trial_id] = {
                    name: value.ListFields()[0][1] for name, value in start.hparams.items()
                }
    table = trials(folder)
    assert len(table) == 2 and len(logged) == 2
    for trial in table:
        values = logged[trial["trial_id"]]
        assert values["activation"] == trial["activation"]
        assert float(values["learning_rate"]) == pytest.approx(float(trial["learning_rate"]))


def test_a_changed_command_starts_its_own_search_and_fresh_forgets_everything(tmp_path, capsys):
    """The regression test of a search that silently reused another one's trials."""
    grid = [*COMMON, *TUNERS["grid"], "--set", "train_limit=300", "--out", str(tmp_path)]
    first_printed = run(grid, capsys)
    first = search_folder(tmp_path)
    assert f"a new search in {first}" in first_printed

    # the same command resumes: no new trial
    assert f"resuming the search in {first} (4 trials on disk)" in run(grid, capsys)
    assert len(trials(first)) == 4

    # another space: its own folder, its own trials, its best inside the new space
    other = [*grid, "--only", "activation=elu,tanh"]
    printed = run(other, capsys)
    [second] = [p for p in tmp_path.iterdir() if p != first]
    assert f"a new search in {second}" in printed and first.name in printed
    assert {t["activation"] for t in trials(second)} == {"elu", "tanh"}
    assert json.loads((second / "search.json").read_text())["space"]["activation"]["values"] == [
        "elu",
        "tanh",
    ]
    best = json.loads((second / "best_config.json").read_text())
    assert best["model"]["activation"] in {"elu", "tanh"}

    # --fresh removes what the old search wrote, its final runs included
    stale = RunRecord("stale0123456789", "dense", {}, 7, test_accuracy=0.1)
    RunStore(first / "final_runs.jsonl").append(stale)
    run([*grid, "--fresh"], capsys)
    assert "stale0123456789" not in (first / "final_runs.jsonl").read_text()
    summary = json.loads((first / "summary.json").read_text())
    assert [r.run_id for r in RunStore(first / "final_runs.jsonl")] == summary["final_run_ids"]


# the spaces of experiments/spaces searched on tiny data
SPACE_TINY = [
    "--set",
    "train_limit=300",
    "--set",
    "validation=200",
    "--set",
    "test_limit=200",
    "--max-epochs",
    "2",
    "--final-seeds",
    "1",
]


@pytest.mark.parametrize(
    ("family", "space", "layer_columns"),
    [
        ("dense", "dense_depth.toml", ["units_1", "dropout_1", "units_4", "dropout_4"]),
        ("lenet", "lenet_filters.toml", ["filters_1", "filters_2", "filters_3"]),
    ],
)
def test_a_depth_and_width_search_shows_one_column_per_layer(
    family, space, layer_columns, tmp_path, capsys
):
    # XLA off: compiling each LeNet-5 would cost more than these tiny trials
    argv = [
        "--family",
        family,
        "--space",
        str(SPACES / space),
        "--tuner",
        "random",
        "--trials",
        "3",
        *SPACE_TINY,
        "--set",
        "jit_compile=off",
        "--out",
        str(tmp_path),
    ]
    run(argv, capsys)
    folder = search_folder(tmp_path)
    import pandas as pd

    table = pd.read_csv(folder / "trials.csv")
    assert set(layer_columns) <= set(table.columns)
    if family == "dense":
        for _, row in table.iterrows():  # a layer beyond a trial's depth is empty, not zero
            for i in range(1, 5):
                assert pd.isna(row[f"units_{i}"]) == (i > row["depth"])
    definition = json.loads((folder / "search.json").read_text())
    assert "layers" in definition["space"]


@pytest.mark.parametrize(
    ("tuner", "extra", "trials"),
    [
        ("grid", ["--only", "units=32,64", "--only", "learning_rate=0.01,0.001"], 4),
        ("bayesian", ["--trials", "3"], 3),
    ],
)
def test_the_one_layer_space_runs_with_a_sampler_and_as_a_grid_of_its_steps(
    tuner, extra, trials, tmp_path, capsys
):
    import pandas as pd

    argv = [
        "--space",
        str(SPACES / "one_layer.toml"),
        "--tuner",
        tuner,
        *extra,
        *SPACE_TINY,
        "--out",
        str(tmp_path),
    ]
    run(argv, capsys)
    table = pd.read_csv(search_folder(tmp_path) / "trials.csv")
    assert len(table) == trials and set(table["status"]) == {"COMPLETED"}
    assert all(32 <= u <= 512 and u % 32 == 0 for u in table["units_1"])  # on the steps


def test_fixed_fields_reach_the_final_retraining(tmp_path, capsys):
    """A field fixed in the space (or with --fix) is trained with in the final runs too,
    not the family's default."""
    argv = [
        "--space",
        str(SPACES / "one_layer.toml"),
        "--tuner",
        "random",
        "--trials",
        "2",
        "--fix",
        "learning_rate=0.001",
        *SPACE_TINY,
        "--out",
        str(tmp_path),
    ]
    run(argv, capsys)
    folder = search_folder(tmp_path)
    best = json.loads((folder / "best_config.json").read_text())
    assert best["train"]["optimizer"] == "adam" and best["train"]["learning_rate"] == 0.001
    assert len(best["model"]["hidden"]) == 1
