"""Run many configs over seeds, resumably, and summarize them over seeds.

:func:`run_study` trains every run not yet in the study's ``runs.jsonl`` and appends each
record as it finishes (:mod:`keras_fcn.runner`), so a study killed at any point continues
where it stopped when the same command runs again. :func:`aggregate` turns records into mean, standard deviation and
95 % confidence interval per config; :func:`compare` says whether two configs differ by
more than seed-to-seed noise.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

import numpy as np
import pandas as pd
from scipy import stats

from keras_fcn.estimate import Progress
from keras_fcn.family import Family, RunConfig
from keras_fcn.identity import Status, record_group_key
from keras_fcn.record import RunRecord, RunStore, now
from keras_fcn.runner import Engine, Job, Outcome, RunnerCallback, run_tasks

Trainer = Callable[[Family, RunConfig, Any], RunRecord]
SEED_FIELDS = ("seed",)


def with_seeds(runs: Iterable[RunConfig], seeds: Sequence[int]) -> list[RunConfig]:
    """Each run once per seed, seeds varying fastest, duplicates removed in order."""
    out: dict[str, RunConfig] = {}
    for run in runs:
        for seed in seeds:
            seeded = run.with_settings({"seed": seed})
            out.setdefault(seeded.run_id, seeded)
    return list(out.values())


def failed_record(run: RunConfig, note: str, wall_time_s: float, command: str = "") -> RunRecord:
    """The record of a run that did not finish: status ``failed`` and the reason in its note."""
    return RunRecord(
        run_id=run.run_id,
        family=run.family,
        config=run.to_dict(),
        seed=run.train.seed,
        status=Status.FAILED,
        note=note[:500],
        created=now(),
        wall_time_s=round(wall_time_s, 3),
        command=command,
    )


def train_with(
    families: Mapping[str, Family], trainer: Trainer | None, run: RunConfig, data: Any
) -> RunRecord:
    """Train ``run`` with ``trainer`` (default :func:`keras_fcn.train.train_record`): the
    work of a study's task (:class:`keras_fcn.runner.Job`), in this process or on an engine."""
    if trainer is None:
        from keras_fcn.train import train_record as trainer
    return trainer(families[run.family], run, data)


class StudyProgress(RunnerCallback):
    """A study's progress: one line per finished run (:class:`keras_fcn.estimate.Progress`)."""

    def __init__(
        self, label: Callable[[RunConfig], str] | None = None, stream: TextIO | None = None
    ) -> None:
        self.label, self.stream = label, stream

    def on_plan(self, total: int, todo: int) -> None:
        self.progress = Progress(total, total - todo, self.stream)

    def on_task_end(self, outcome: Outcome) -> None:
        run = outcome.task
        label = self.label(run) if self.label else run.run_id
        self.progress.update(label, outcome.record, running=outcome.running)


def run_study(
    families: Mapping[str, Family],
    runs: Sequence[RunConfig],
    store: RunStore,
    *,
    load: Callable[[Any], Any],
    trainer: Trainer | None = None,
    progress: RunnerCallback | None = None,
    engine: Engine | None = None,
    resumed: Iterable[RunRecord] = (),
) -> list[RunRecord]:
    """Train every run of ``runs`` that ``store`` does not hold yet; return all their records.

    The runs are the tasks of :func:`keras_fcn.runner.run_tasks`: a run that raises is
    recorded with status ``failed`` (and retried by the next call); the study goes on.
    ``KeyboardInterrupt`` stops it with every finished run kept. The store's folder is
    locked while it runs (:func:`keras_fcn.lock.folder_lock`; a command that holds it
    already keeps it): a study of another process on the same folder stops with
    :class:`~keras_fcn.errors.FolderInUse`, and no run is trained or recorded twice.

    Args:
        families: family name -> :class:`Family`.
        runs: the runs, seeds included (see :func:`with_seeds`).
        store: where records are read from and appended to.
        load: ``DataConfig`` -> dataset; called once per distinct data config.
        trainer: ``(family, run, dataset) -> RunRecord``; defaults to
            :func:`keras_fcn.train.train_record` (tests pass a stub).
        progress: told of the plan and of each run's end; by default one line per run on
            stderr (:class:`StudyProgress`, which takes a run's label and the stream).
        engine: trains the runs elsewhere, several at once (:mod:`keras_fcn.cluster`);
            ``None``: one after the other in this process.
        resumed: finished runs held outside ``store`` that count as done (a run the store
            holds keeps the store's record).

    Returns:
        One record per run, in the order of ``runs``.
    """
    store.check_writable()
    job = Job(
        work=functools.partial(train_with, families, trainer),
        task_id=lambda run: run.run_id,
        failed=lambda run, note, seconds: failed_record(
            run, note, seconds, command=families[run.family].command_for(run)
        ),
        data=lambda run: run.data,
        load=load,
    )
    callback = progress or StudyProgress()
    return run_tasks(job, runs, store, resumed=resumed, engine=engine, callback=callback)


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per record: its config fields, seed and results, plus its ``config_key``."""
    rows = []
    for record in records:
        row = record.flat()
        row["config_key"] = record_group_key(record)
        row["final_val_accuracy"] = (record.history.get("val_accuracy") or [None])[-1]
        rows.append(row)
    return pd.DataFrame(rows)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean (NaN for one value)."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if len(values) < 2:
        return float("nan")
    sem = np.std(values, ddof=1) / math.sqrt(len(values))
    return float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * sem)


def aggregate(records: Iterable[RunRecord], by: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean, standard deviation and 95 % CI of test and best-validation accuracy per config.

    Diverged and failed runs are counted in their own columns and left out of the means:
    a diverged seed is reported, never averaged in silently.

    Args:
        records: run records, several seeds per config.
        by: config fields to show for each group; default: the fields that vary.

    Returns:
        One row per config, in the order configs first appear.
    """
    frame = records_frame(records)
    if frame.empty:
        return pd.DataFrame()
    if by is None:
        by = varying_fields(frame)
    rows = []
    for key, group in frame.groupby("config_key", sort=False):
        ok = group[group["status"] == Status.OK]
        row = {field: group[field].iloc[0] for field in by}
        row.update(
            config_key=key,
            n=len(ok),
            n_diverged=int((group["status"] == Status.DIVERGED).sum()),
            n_failed=int((group["status"] == Status.FAILED).sum()),
        )
        for metric, column in (("test", "test_accuracy"), ("val", "best_val_accuracy")):
            values = ok[column].dropna().astype(float).tolist()
            row[f"{metric}_mean"] = float(np.mean(values)) if values else float("nan")
            row[f"{metric}_std"] = (
                float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
            )
            row[f"{metric}_ci95"] = t_interval(values)
        diverged = group[group["status"] == Status.DIVERGED]["test_accuracy"].dropna()
        row["diverged_test_mean"] = float(diverged.mean()) if len(diverged) else float("nan")
        row["epochs_mean"] = float(ok["epochs_run"].mean()) if len(ok) else float("nan")
        row["fit_time_mean_s"] = float(ok["fit_time_s"].mean()) if len(ok) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


IGNORED_FIELDS = {"seed", "run_id", "config_key", "family"}
RESULT_FIELDS = {
    "status",
    "epochs_run",
    "best_epoch",
    "best_val_accuracy",
    "test_accuracy",
    "test_loss",
    "params",
    "wall_time_s",
    "fit_time_s",
    "predict_time_s",
    "final_val_accuracy",
}


def varying_fields(frame: pd.DataFrame) -> list[str]:
    """Config columns whose value differs between rows (the seed excluded)."""
    columns = [c for c in frame.columns if c not in IGNORED_FIELDS | RESULT_FIELDS]
    return [c for c in columns if frame[c].astype(str).nunique() > 1]


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Exact McNemar test on two classifiers' per-example correctness.

    Returns:
        ``(b, c, p)``: examples only A got right, only B got right, and the two-sided
        p-value of the binomial test of b against b + c trials at one half.
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    if b + c == 0:
        return b, c, 1.0
    return b, c, float(stats.binomtest(b, b + c, 0.5).pvalue)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Two configs compared over the seeds they share.

    Attributes:
        seeds: the shared seeds.
        mean_difference: mean test accuracy of A minus B.
        t_pvalue: paired t-test across seeds (NaN with fewer than 2 seeds).
        mcnemar: per seed, ``(b, c, p)`` of McNemar's test on the test predictions.
        alpha: significance level.
    """

    seeds: tuple[int, ...]
    mean_difference: float
    t_pvalue: float
    mcnemar: dict[int, tuple[int, int, float]]
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        """Whether the difference exceeds seed noise: the t-test, or McNemar on every seed."""
        if not math.isnan(self.t_pvalue):
            return self.t_pvalue < self.alpha
        return bool(self.mcnemar) and all(p < self.alpha for _, _, p in self.mcnemar.values())

    def summary(self) -> str:
        """One line for people."""
        verdict = "larger than seed noise" if self.significant else "within seed noise"
        mc = ", ".join(f"seed {s}: p={p:.3g}" for s, (_, _, p) in self.mcnemar.items())
        return (
            f"A - B = {self.mean_difference:+.4f} over {len(self.seeds)} seeds: {verdict} "
            f"(paired t-test p={self.t_pvalue:.3g}; McNemar {mc})"
        )


def compare(
    a: Sequence[RunRecord], b: Sequence[RunRecord], y_test: np.ndarray, alpha: float = 0.05
) -> Comparison:
    """Compare the runs of config A with those of config B, pairing them by seed.

    Only runs with status ``ok`` and recorded test predictions count, as in
    :func:`aggregate`: a diverged or failed seed is left out of both tests, and so is its
    partner in the other config.

    Args:
        a: the records of config A, one per seed.
        b: the records of config B.
        y_test: the test labels both were measured on (for McNemar's test).
        alpha: significance level.

    Returns:
        The :class:`Comparison` over the seeds both configs completed.

    Raises:
        ValueError: no seed has a usable run in both configs.
    """
    by_seed_a, by_seed_b = _usable_by_seed(a), _usable_by_seed(b)
    seeds = tuple(sorted(set(by_seed_a) & set(by_seed_b)))
    if not seeds:
        raise ValueError("the two configs share no seed with a successful run")
    acc_a = np.array([by_seed_a[s].test_accuracy for s in seeds])
    acc_b = np.array([by_seed_b[s].test_accuracy for s in seeds])
    differences = acc_a - acc_b
    if len(seeds) < 2:
        t_p = float("nan")
    elif np.allclose(differences, differences[0]):
        t_p = 1.0 if differences[0] == 0 else 0.0  # no spread: the t statistic is infinite
    else:
        t_p = float(stats.ttest_rel(acc_a, acc_b).pvalue)
    tests = {}
    for s in seeds:
        pa, pb = by_seed_a[s].predictions(), by_seed_b[s].predictions()
        tests[s] = mcnemar(pa == y_test, pb == y_test)
    return Comparison(seeds, float(np.mean(acc_a - acc_b)), t_p, tests, alpha)


def _usable_by_seed(records: Iterable[RunRecord]) -> dict[int, RunRecord]:
    """The records that finished with test predictions, by seed."""
    return {
        r.seed: r
        for r in records
        if r.status == Status.OK and r.test_accuracy is not None and r.test_predictions
    }
