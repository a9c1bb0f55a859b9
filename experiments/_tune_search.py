"""The search of ``experiments.tune``: the space narrowed by the command line, the search's
folder (known by its definition), the workers, and KerasTuner's search itself."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from experiments._cli import check_out
from experiments._tune_args import choices, command, read_space, without_workers


def searched_space(family, args, fixed: dict):
    """The family's space (or ``--space``) narrowed by ``--search``, ``--fix`` and ``--only``,
    as the tuner searches it."""
    from keras_fcn import tuning
    from keras_fcn.errors import ConfigError

    space = read_space(family, args)
    if args.search:
        space = space.select([name.strip() for name in args.search.split(",") if name.strip()])
    if args.quick:
        space = space.without("epochs")  # every trial trains at most --max-epochs
    space = space.narrow(fixed=fixed, choices=choices(family, args.only), accept=family.accepts)
    if args.tuner not in tuning.TUNER_NAMES:
        raise ConfigError(
            f"unknown tuner {args.tuner!r}; choose one of {', '.join(tuning.TUNER_NAMES)}"
        )
    return tuning.space_for(args.tuner, space)


def search_folder(args, base, space) -> tuple[dict, Path]:
    """The search's identity and its folder."""
    from keras_fcn import tuning

    identity = tuning.search_identity(
        args.tuner,
        base,
        space,
        max_epochs=args.max_epochs,
        factor=args.factor,
        trials=args.trials,
        executions=args.executions,
        seed=args.seed,
    )
    folder = Path(args.out) / tuning.search_folder_name(identity, quick=args.quick)
    check_out(folder)  # one line now, not a traceback once the data are loaded
    return identity, folder


@contextlib.contextmanager
def hold_folder(args, folder: Path, identity: dict):
    """The search folder's lock (:mod:`keras_fcn.lock`), held by the chief or the lone process
    for the whole command, the folder emptied first with ``--fresh``; the chief says whether
    it resumes the search or starts one. A worker shares its chief's folder: it holds nothing."""
    from keras_fcn import lock, workers

    if workers.role() == "worker":
        yield
        return
    with lock.folder_lock(folder, wait=args.wait):
        if args.fresh:
            lock.empty(folder)  # trials, final runs, summary, plots: nothing of it is kept
        print(search_note(folder, identity), flush=True)
        yield


def start_workers(args, argv: Sequence[str] | None):
    """With ``--workers N`` in a lone process: this process becomes the chief of N workers
    started on this machine; their pool, or ``None``."""
    from keras_fcn import workers

    if not (args.workers and workers.role() is None):
        return None
    port = workers.free_port()
    child_argv = without_workers(argv if argv is not None else sys.argv[1:])
    os.environ.update(
        {workers.ROLE_VAR: "chief", workers.IP_VAR: "127.0.0.1", workers.PORT_VAR: str(port)}
    )
    pool = workers.WorkerPool("experiments.tune", child_argv, args.workers, port).start()
    print(f"chief on 127.0.0.1:{port} with {args.workers} workers", flush=True)
    return pool


def run_search(args, family, base, space, identity: dict, folder: Path, pool, watch):
    """Load the data and search; the tuner, the data and the search's time in seconds."""
    from keras_fcn import tuning, workers
    from keras_fcn.record import write_json
    from keras_fcn.train import load_dataset

    data = load_dataset(base.data, args.data_dir)
    if workers.role() != "worker":
        write_json(folder / "search.json", {"command": command(args), **identity})
    hypermodel = tuning.FamilyHyperModel(family, base, space, use_ranges=args.tuner != "grid")
    tuner = tuning.make_tuner(
        args.tuner,
        hypermodel,
        folder,
        "search",
        max_trials=args.trials,
        max_epochs=args.max_epochs,
        factor=args.factor,
        executions_per_trial=args.executions,
        seed=args.seed,
    )
    callbacks = tuning.search_callbacks(
        hypermodel, folder / "tensorboard" if args.tensorboard else None
    )
    start = time.perf_counter()
    try:
        search = functools.partial(
            tuner.search,
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,
        )
        if watch is None:
            search()
        else:
            with watch:
                watch.run(search)
    finally:
        if pool is not None:
            pool.stop()
    return tuner, data, time.perf_counter() - start


def search_note(folder: Path, identity: dict) -> str:
    """One line: whether this command resumes its search or starts one, and where."""
    trials = len(list((folder / "search").glob("trial_*/trial.json")))
    if trials:
        return f"resuming the search in {folder} ({trials} trials on disk)"
    prefix = folder.name.rsplit("-", 1)[0]
    others = sorted(
        p.name
        for p in (folder.parent.iterdir() if folder.parent.is_dir() else [])
        if p != folder and p.name.rsplit("-", 1)[0] == prefix
    )
    note = f"a new search in {folder} (its definition: search.json)"
    if others:
        note += f"; it differs from the earlier {', '.join(others)}: compare their search.json"
    return note
