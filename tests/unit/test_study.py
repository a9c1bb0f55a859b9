from __future__ import annotations

import io

import numpy as np
import pytest

from keras_fcn.family import DENSE
from keras_fcn.identity import record_group_key
from keras_fcn.record import RunRecord, RunStore, encode_predictions
from keras_fcn.study import (
    StudyProgress,
    aggregate,
    compare,
    mcnemar,
    run_study,
    with_seeds,
)

FAMILIES = {"dense": DENSE}


def fake_trainer(calls: list, fail_on: set[int] = frozenset(), interrupt_at: int | None = None):
    """A trainer that trains nothing: its accuracy is a function of the learning rate and seed."""

    def trainer(family, run, data):
        calls.append(run.run_id)
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        if run.train.seed in fail_on:
            raise RuntimeError("out of luck")
        accuracy = run.train.learning_rate * 10 + run.train.seed / 1000
        return RunRecord(
            run_id=run.run_id,
            family=family.name,
            config=run.to_dict(),
            seed=run.train.seed,
            test_accuracy=accuracy,
            best_val_accuracy=accuracy - 0.01,
            epochs_run=1,
        )

    return trainer


def _runs(lrs=(0.01, 0.02), seeds=(1, 2, 3)):
    return with_seeds([DENSE.run_config({"learning_rate": lr}) for lr in lrs], seeds)


def test_with_seeds_expands_and_deduplicates():
    runs = with_seeds([DENSE.run_config(), DENSE.run_config()], [1, 2])
    assert [r.train.seed for r in runs] == [1, 2]


def test_study_runs_everything_once_and_skips_recorded_runs(tmp_path):
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    records = run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()),
    )
    assert len(records) == len(calls) == 6
    again = run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()),
    )
    assert len(calls) == 6 and [r.run_id for r in again] == [r.run_id for r in records]


def test_interrupted_study_resumes_without_repeating_or_losing_a_run(tmp_path):
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    with pytest.raises(KeyboardInterrupt):
        run_study(
            FAMILIES,
            _runs(),
            store,
            load=lambda d: None,
            trainer=fake_trainer(calls, interrupt_at=4),
            progress=StudyProgress(stream=io.StringIO()),
        )
    assert len(store.records()) == 3
    run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()),
    )
    ids = [r.run_id for r in store.records()]
    assert sorted(ids) == sorted(r.run_id for r in _runs()) and len(ids) == len(set(ids)) == 6


def test_a_failing_run_is_recorded_and_retried_next_time(tmp_path):
    store, calls, out = RunStore(tmp_path / "runs.jsonl"), [], io.StringIO()
    records = run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls, fail_on={2}),
        progress=StudyProgress(stream=out),
    )
    failed = [r for r in records if r.status == "failed"]
    assert len(failed) == 2 and "RuntimeError: out of luck" in failed[0].note
    lines = out.getvalue().splitlines()
    assert "[5/6]" in lines[-2] and "1 left, about" in lines[-2]
    assert "[6/6]" in lines[-1] and lines[-1].endswith("; all done")
    run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()),
    )
    assert len(calls) == 8  # only the two failed runs ran again


def test_aggregate_gives_the_known_mean_std_and_interval(tmp_path):
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    records = run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()),
    )
    table = aggregate(records)
    assert list(table["learning_rate"]) == [0.01, 0.02]
    first = table.iloc[0]
    assert first["n"] == 3
    assert first["test_mean"] == pytest.approx(0.1 + 0.002)  # seeds 1, 2, 3 -> +0.001..0.003
    assert first["test_std"] == pytest.approx(0.001)
    assert first["test_ci95"] == pytest.approx(4.302653 * 0.001 / np.sqrt(3), rel=1e-5)
    assert first["val_mean"] == pytest.approx(0.092)


def test_diverged_runs_are_counted_apart_not_averaged_in():
    base = DENSE.run_config()
    records = []
    for seed, status, acc in ((1, "ok", 0.8), (2, "ok", 0.9), (3, "diverged", 0.1)):
        run = base.with_settings({"seed": seed})
        records.append(
            RunRecord(run.run_id, "dense", run.to_dict(), seed, status=status, test_accuracy=acc)
        )
    row = aggregate(records).iloc[0]
    assert row["n"] == 2 and row["n_diverged"] == 1
    assert row["test_mean"] == pytest.approx(0.85) and row["diverged_test_mean"] == pytest.approx(
        0.1
    )
    assert record_group_key(records[0]) == record_group_key(records[2])


def test_mcnemar_gives_the_textbook_answer():
    # discordant pairs b=10, c=2: exact two-sided binomial p = 2 * P(X <= 2 | n=12, 1/2) = 0.03857
    a = np.array([True] * 10 + [False] * 2 + [True] * 50)
    b = np.array([False] * 10 + [True] * 2 + [True] * 50)
    assert mcnemar(a, b) == (10, 2, pytest.approx(0.0385742, rel=1e-5))
    assert mcnemar(a, a)[2] == 1.0


def test_compare_pairs_seeds_and_judges_against_seed_noise():
    y = np.zeros(100, dtype=int)

    def rec(seed, n_correct):
        predictions = np.array([0] * n_correct + [1] * (100 - n_correct))
        return RunRecord(
            f"{seed}-{n_correct}",
            "dense",
            {},
            seed,
            test_accuracy=n_correct / 100,
            test_predictions=encode_predictions(predictions),
        )

    better = compare([rec(1, 95), rec(2, 96), rec(3, 94)], [rec(1, 70), rec(2, 71), rec(3, 69)], y)
    assert better.significant and better.mean_difference == pytest.approx(0.25)
    same = compare([rec(1, 90), rec(2, 91), rec(3, 89)], [rec(1, 91), rec(2, 89), rec(3, 90)], y)
    assert not same.significant
    assert "within seed noise" in same.summary()


def test_compare_leaves_out_diverged_runs_and_runs_without_predictions():
    y = np.zeros(100, dtype=int)

    def rec(seed, n_correct, status="ok", predicted=True):
        predictions = np.array([0] * n_correct + [1] * (100 - n_correct))
        return RunRecord(
            f"{seed}-{n_correct}-{status}",
            "dense",
            {},
            seed,
            status=status,
            test_accuracy=n_correct / 100,
            test_predictions=encode_predictions(predictions) if predicted else "",
        )

    a = [rec(1, 90), rec(2, 91), rec(3, 10, status="diverged"), rec(4, 95, predicted=False)]
    b = [rec(1, 80), rec(2, 82), rec(3, 85), rec(4, 85)]
    result = compare(a, b, y)
    assert result.seeds == (1, 2)  # seed 3 diverged in A, seed 4 has no predictions
    assert result.mean_difference == pytest.approx(0.095)
    assert set(result.mcnemar) == {1, 2}
    # the same holds for B's side, and with nothing left there is nothing to compare
    assert compare(b, a, y).seeds == (1, 2)
    with pytest.raises(ValueError, match="share no seed"):
        compare([rec(1, 90, status="diverged")], [rec(1, 80)], y)
    with pytest.raises(ValueError, match="share no seed"):
        compare([rec(1, 90)], [rec(1, 80, status="failed")], y)
