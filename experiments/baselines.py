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

from experiments._cli import Parser, add_data_dir_arg, add_wait_arg, check_out, run_main
from keras_fcn import layout
from keras_fcn.cluster import add_engine_args, engine_from


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
    """Fit the baselines not yet recorded, on ``engine`` (several at once) if given."""

    import pandas as pd

    from baselines.selection import BASELINES, selection_id
    from keras_fcn.config import DataConfig
    from keras_fcn.presets import quick
    from keras_fcn.record import RunStore
    from keras_fcn.reporting.tables import save_table
    from keras_fcn.train import load_dataset

    store = RunStore(out / "runs.jsonl")
    datasets = ("fashion_mnist", "mnist") if args.dataset == "both" else (args.dataset,)
    names = args.only or list(BASELINES)
    start, rows = time.perf_counter(), []
    if engine is not None:
        select_on(engine, args, datasets, names, store, out)
    for dataset in datasets:
        data_config = DataConfig(dataset=dataset, **(quick("baselines") if args.quick else {}))
        data = load_dataset(data_config, args.data_dir)
        store.check_writable()  # after the data: a dataset not found leaves no folder behind
        done = {r.config.get("search_id"): r for r in store}
        for name in names:
            baseline = BASELINES[name]
            record = done.get(selection_id(baseline, data_config))
            if record is None:
                record = _select_here(baseline, name, data, data_config, store, out)
            rows.append(_row(dataset, name, record))
    table = pd.DataFrame(rows)
    save_table(table, out / "baselines", index=False)
    print(table.to_markdown(index=False))
    print(
        f"\n{time.perf_counter() - start:.0f} s in this command (selections already recorded are not refitted); "
        f"saved: {out}/ (runs.jsonl, baselines.csv/.md, selection_*.csv)"
    )
    return 0


def _select_here(baseline, name, data, data_config, store, out):
    """Fit one baseline's selection in this process, record it, print what it chose."""
    from baselines.selection import select_and_test, settings_text
    from keras_fcn.reporting.confusion import format_confusion
    from keras_fcn.reporting.tables import save_table

    dataset = data_config.dataset
    print(
        f"{dataset} / {name}: {baseline.description}; trying {baseline.space.size()} settings",
        flush=True,
    )
    record, selection = select_and_test(baseline, data, data_config)
    store.append_once(record)
    save_table(selection, out / f"selection_{name}_{dataset}", index=False)
    print(f"  chosen on validation: {settings_text(record.config['model'])}")
    print(
        f"  validation {record.best_val_accuracy:.4f}, test {record.test_accuracy:.4f}; "
        f"fit {record.fit_time_s:.1f} s, predict test set {record.predict_time_s:.1f} s"
    )
    print(format_confusion(record.confusion_matrix, data.class_names) + "\n")
    return record


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


def select_on(engine, args, datasets, names, store, out) -> None:
    """Fit the selections not recorded yet as Ray tasks, several at once, the data read once
    here and put in the object store; append each record here, as its task finishes, with
    its selection table.

    Raises:
        KerasFcnError: a selection could not finish (its worker or node died more often than
            Ray retries); the others are recorded first.
    """
    from baselines.selection import BASELINES, select_and_test, selection_id, settings_text
    from keras_fcn.cluster import failure_note
    from keras_fcn.config import DataConfig
    from keras_fcn.errors import KerasFcnError
    from keras_fcn.presets import quick
    from keras_fcn.reporting.tables import save_table
    from keras_fcn.train import load_dataset

    store.check_writable()
    done = {r.config.get("search_id") for r in store}
    calls = []
    for dataset in datasets:
        data_config = DataConfig(dataset=dataset, **(quick("baselines") if args.quick else {}))
        todo = [n for n in names if selection_id(BASELINES[n], data_config) not in done]
        if todo:
            data = engine.put(load_dataset(data_config, args.data_dir))
            calls += [((dataset, n), (BASELINES[n], data, data_config)) for n in todo]
    failures = []
    for number, ((dataset, name), result, error, _) in enumerate(
        engine.imap(select_and_test, calls), start=1
    ):
        if error is not None:
            failures.append(f"{dataset} / {name}: {failure_note(error, engine.max_retries)}")
            print(f"[{number}/{len(calls)}] {failures[-1]}", flush=True)
            continue
        record, selection = result
        if record.config.get("search_id") in done:
            continue  # recorded once only
        store.append_once(record)
        done.add(record.config.get("search_id"))
        save_table(selection, out / f"selection_{name}_{dataset}", index=False)
        print(
            f"[{number}/{len(calls)}] {dataset} / {name}: {settings_text(record.config['model'])}; "
            f"validation {record.best_val_accuracy:.4f}, test {record.test_accuracy:.4f}; "
            f"{engine.running} running",
            flush=True,
        )
    if failures:
        raise KerasFcnError("; ".join(failures) + ": rerun the same command to fit them again")


if __name__ == "__main__":
    run_main(main)
