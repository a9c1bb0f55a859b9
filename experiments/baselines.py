"""Fit the classical baselines, choose each one's settings on validation, test them once.

    python -m experiments.baselines [--dataset fashion_mnist|mnist|both] [--only NAME] [--quick]

Records go to ``--out/runs.jsonl`` (a baseline already recorded for the same data is not
refitted); every setting's validation accuracy to ``selection_NAME_DATASET.csv``; the table
of all baselines to ``baselines.csv``/``.md``. One command at a time writes ``--out``: a
second stops in one line naming the first, or waits for it with ``--wait SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from experiments._cli import (
    Parser,
    add_data_dir_arg,
    add_engine_args,
    add_wait_arg,
    check_out,
    run_main,
)
from keras_fcn import layout
from keras_fcn.cluster import engine_from


def build_parser() -> Parser:
    """The command's flags."""
    from baselines.selection import BASELINES

    parser = Parser(prog="experiments.baselines", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        choices=("fashion_mnist", "mnist", "both"),
        default="both",
        help="default: %(default)s",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=list(BASELINES),
        help="run only this baseline (repeatable)",
    )
    parser.add_argument("--quick", action="store_true", help="3,000 training and 1,000 test images")
    parser.add_argument(
        "--out",
        default=str(layout.folder("baselines")),
        help="results folder (default: %(default)s)",
    )
    add_data_dir_arg(parser)
    add_wait_arg(parser)
    add_engine_args(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_out(args.out)
    out = check_out(args.out + ("-quick" if args.quick else ""))
    engine = engine_from(args.jobs, args.threads_per_run, args.ray_address)
    from keras_fcn.lock import folder_lock

    with folder_lock(out, wait=args.wait):  # one command at a time appends to runs.jsonl
        if engine is None:
            return selections(args, out, None)
        with engine:
            return selections(args, out, engine)


def selections(args, out, engine) -> int:
    """Fit the baselines not yet recorded, on ``engine`` (several at once) if given.

    Raises:
        KerasFcnError: a selection could not finish (it raised, or its worker or node died
            more often than Ray retries); the others are recorded first.
    """
    import pandas as pd

    from baselines.selection import BASELINES, run_selection, selection_id
    from keras_fcn.config import DataConfig
    from keras_fcn.errors import KerasFcnError
    from keras_fcn.presets import quick
    from keras_fcn.record import RunStore
    from keras_fcn.reporting.tables import save_table
    from keras_fcn.runner import Job, run_tasks
    from keras_fcn.train import load_dataset

    store = RunStore(out / "runs.jsonl")
    datasets = ("fashion_mnist", "mnist") if args.dataset == "both" else (args.dataset,)
    data_configs = [
        DataConfig(dataset=dataset, **(quick("baselines") if args.quick else {}))
        for dataset in datasets
    ]
    tasks = [(BASELINES[name], dc) for dc in data_configs for name in args.only or BASELINES]

    def load(data_config):
        data = load_dataset(data_config, args.data_dir)
        store.check_writable()  # after the data: a dataset not found leaves no folder behind
        return data

    start = time.perf_counter()
    job = Job(
        work=run_selection,
        task_id=lambda task: selection_id(*task),
        data=lambda task: task[1],
        load=load,
    )
    said = _Said(out)
    records = run_tasks(job, tasks, store, engine=engine, callback=said)
    if said.failures:
        raise KerasFcnError("; ".join(said.failures) + ": rerun the same command to fit them again")
    table = pd.DataFrame(
        [_row(dc.dataset, b.name, r) for (b, dc), r in zip(tasks, records, strict=True)]
    )
    save_table(table, out / "baselines", index=False)
    print(table.to_markdown(index=False))
    print(
        f"\n{time.perf_counter() - start:.0f} s in this command (selections already recorded are not refitted); "
        f"saved: {out}/ (runs.jsonl, baselines.csv/.md, selection_*.csv)"
    )
    return 0


class _Said:
    """What the command prints as selections start and end, and saves beside each record:
    its table of every setting (a :class:`keras_fcn.runner.RunnerCallback`)."""

    def __init__(self, out) -> None:
        self.out, self.todo, self.ended, self.failures = out, 0, 0, []

    def on_plan(self, total: int, todo: int) -> None:
        self.todo = todo

    def on_task_begin(self, task) -> None:
        baseline, data_config = task
        print(
            f"{data_config.dataset} / {baseline.name}: {baseline.description}; "
            f"trying {baseline.space.size()} settings",
            flush=True,
        )

    def on_task_end(self, outcome) -> None:
        from baselines.selection import settings_text
        from keras_fcn.reporting.tables import save_table

        (baseline, data_config), record = outcome.task, outcome.record
        name, dataset = baseline.name, data_config.dataset
        self.ended += 1
        number = f"[{self.ended}/{self.todo}] " if outcome.running is not None else "  "
        if outcome.note is not None:
            self.failures.append(f"{dataset} / {name}: {outcome.note}")
            print(f"{number}{self.failures[-1]}", flush=True)
            return
        save_table(outcome.extra, self.out / f"selection_{name}_{dataset}", index=False)
        if outcome.running is None:
            _chosen_here(record)
            return
        print(
            f"{number}{dataset} / {name}: {settings_text(record.config['model'])}; "
            f"validation {record.best_val_accuracy:.4f}, test {record.test_accuracy:.4f}; "
            f"{outcome.running} running",
            flush=True,
        )


def _chosen_here(record) -> None:
    """What a selection fitted in this process chose, its scores and confusion matrix."""
    from baselines.selection import settings_text
    from keras_fcn import idx
    from keras_fcn.reporting.confusion import format_confusion

    class_names = idx.info(record.config["data"]["dataset"]).class_names
    print(f"  chosen on validation: {settings_text(record.config['model'])}")
    print(
        f"  validation {record.best_val_accuracy:.4f}, test {record.test_accuracy:.4f}; "
        f"fit {record.fit_time_s:.1f} s, predict test set {record.predict_time_s:.1f} s"
    )
    print(format_confusion(record.confusion_matrix, class_names) + "\n")


def _row(dataset, name, record) -> dict:
    """A baseline's line of the summary table."""
    from baselines.selection import settings_text

    return {
        "dataset": dataset,
        "baseline": name,
        "chosen settings": settings_text(record.config["model"]),
        "val %": round(100 * record.best_val_accuracy, 2),
        "test %": round(100 * record.test_accuracy, 2),
        "fit s": record.fit_time_s,
        "predict s": record.predict_time_s,
        "selection s": record.wall_time_s,
    }


if __name__ == "__main__":
    run_main(main)
