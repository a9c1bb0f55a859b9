"""A whole search from Python: :func:`run_search`.

It names the search by its identity (one folder per search), resumes it from that folder
(or starts it over), runs KerasTuner's tuner there (in one process, or as the chief or a
worker of a distributed search), then writes the trial table and plots, retrains the best
setting over seeds, tests each final run once and writes ``summary.json``.

A search folder holds, once the search is done: ``search.json`` (its identity),
``search/`` (KerasTuner's project folder, its trial checkpoints removed), ``trials.csv``/
``.md``, ``along_each.png``, ``best_trials.png``, ``final_runs.jsonl``, ``best_model.keras``,
``best_config.json`` and ``summary.json``; ``final_models/`` with ``keep_models``, and
``tensorboard/`` with ``tensorboard``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from keras_fcn import layout, lock
from keras_fcn.family import Family, RunConfig
from keras_fcn.record import RunRecord, write_json
from keras_fcn.registry import get_family
from keras_fcn.space import Space
from keras_fcn.tuning import workers
from keras_fcn.tuning.identity import search_folder_name, search_identity, space_for
from keras_fcn.tuning.options import SearchOptions, python_call


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What a finished search leaves, as :func:`run_search` returns it.

    Attributes:
        folder: the search's folder.
        identity: what defines the search (``search.json`` less the command).
        best: the best setting on validation, as names of the space.
        trials: every trial (:func:`keras_fcn.tuning.trials.trials_frame`).
        final_records: the best setting's final runs, one per seed.
        summary: the content of ``summary.json``.
        best_record: the final run whose model is kept as ``best_model.keras``.
        edge_warnings: a line for each best value on the edge of the space.
        search_seconds: the search's time in this session.
    """

    folder: Path
    identity: dict[str, Any]
    best: dict[str, Any]
    trials: pd.DataFrame
    final_records: list[RunRecord]
    summary: dict[str, Any]
    best_record: RunRecord
    edge_warnings: list[str]
    search_seconds: float


def run_search(
    family: Family | str,
    space: Space | None = None,
    *,
    base: RunConfig | None = None,
    options: SearchOptions | None = None,
    **settings: Any,
) -> SearchResult | None:
    """Search ``space`` with KerasTuner, retrain the best setting over seeds, test it once.

    The same call resumes its search (KerasTuner's project folder is reloaded, the trials
    already finished are kept, an interrupted one runs again, final runs already on disk
    are not retrained); ``fresh=True`` starts it over. A search is known by its identity
    (:func:`keras_fcn.tuning.search_identity`): a call that differs in the tuner, one of its
    settings, the space or the base run is another search, in its own folder under
    ``out``. Prints one line per trial, then the final runs' progress.

    Args:
        family: the model family searched, or its name.
        space: the space searched (already narrowed); the family's own if ``None``.
            Hyperband owns the epoch budget: its ``epochs`` is left out.
        base: the run every trial starts from; the family's defaults with
            ``epochs=max_epochs`` and the search's seed if ``None``.
        options: how the search runs (:class:`SearchOptions`).
        **settings: fields of :class:`SearchOptions` replacing those of ``options``
            (``tuner="random", trials=10``).

    Returns:
        The search's results; ``None`` in a worker process of a distributed search (its
        chief returns them).

    Raises:
        ConfigError: a bad option, an empty space or a grid too large.
        ResultsError: the search's folder cannot be written.
        ChiefError: a worker's chief does not answer.
    """
    family = get_family(family)
    options = (options or SearchOptions()).with_settings(settings)
    watch = None
    if workers.role() == "worker":
        # before the data are loaded: a worker without a chief costs only the timeout
        watch = workers.ChiefWatch(options.chief_timeout).start()
    if base is None:
        base = family.run_config({"epochs": options.max_epochs, "seed": options.seed})
    space = space_for(options.tuner, family.space if space is None else space)
    identity = search_identity(options, base, space)
    command = options.command or python_call(family.name, options)
    folder = Path(options.out) / search_folder_name(identity, quick=options.quick)
    layout.writable_folder(folder)  # one line now, not a traceback once the data are loaded
    with hold_search_folder(folder, identity, options, command):
        # Keras and KerasTuner load only now: a worker's watch above starts without them
        from keras_fcn.tuning import final, tuner

        searched, data, seconds = tuner.run_tuner(family, base, space, folder, options, watch)
        if workers.role() == "worker":
            return None
        return final.finish(searched, data, folder, identity, options, command, seconds)


@contextlib.contextmanager
def hold_search_folder(
    folder: Path, identity: dict[str, Any], options: SearchOptions, command: str
) -> Iterator[None]:
    """The search folder's lock (:mod:`keras_fcn.lock`), held by the chief or the lone
    process for the whole search, the folder emptied first with ``fresh``; the holder says
    in one line whether it resumes the search or starts one, and writes ``search.json``. A
    worker shares its chief's folder: it holds nothing.

    Raises:
        FolderInUse: another process holds the folder (after ``options.wait`` seconds).
    """
    if workers.role() == "worker":
        yield
        return
    with lock.folder_lock(folder, wait=options.wait):
        if options.fresh:
            lock.empty(folder)  # trials, final runs, summary, plots: nothing of it is kept
        print(search_note(folder), flush=True)
        write_json(folder / layout.SEARCH_IDENTITY, {"command": command, **identity})
        yield


def search_note(folder: Path) -> str:
    """One line: whether this call resumes its search or starts one, and where."""
    trials = len(list((folder / layout.TUNER_PROJECT).glob("trial_*/trial.json")))
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
