"""What one tuning trial costs before it learns anything, and the memory a search keeps."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from typing import Any

import pandas as pd

from experiments.bench.memory import current_rss_mb
from keras_fcn.data import Dataset
from keras_fcn.family import Family, RunConfig
from keras_fcn.registry import DEFAULT_SEED

ONE_NETWORK = ("optimizer", "learning_rate")
"""What the one-network search draws: everything else is fixed at the base run's value."""

NETWORK = ("hidden", "batch_norm", "dropout", "batch_size")
"""What a trial drew that sets the size of its traced graph, kept beside its fixed cost."""

DENSE_SPACE, ONE_NETWORK_SPACE = "dense space", "one network"
ONEDNN_OFF = "dense space, oneDNN off"
"""The dense space again, in a process started with ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow's
oneDNN kernels allocate from a pool that keeps its largest size, the plain kernels from
``malloc``. Its memory tells the pool's share of the growth from what trials keep."""
ONEDNN_OFF_ENV = {"TF_ENABLE_ONEDNN_OPTS": "0"}


def trial_count(args: Any) -> int:
    """Trials per search of ``--trials`` (at most 3 with ``--quick``)."""
    return min(args.trials, 3) if args.quick else args.trials


def search_costs(family: Family, data: Dataset, name: str, trials: int, seed: int) -> pd.DataFrame:
    """:func:`trial_costs` of the search ``name`` (:data:`DENSE_SPACE`, :data:`ONE_NETWORK_SPACE`
    or :data:`ONEDNN_OFF`, the process's environment deciding the kernels) on the first 2,000
    training and 500 validation images of ``data``, with a ``space`` column naming it."""
    small = dataclasses.replace(
        data,
        x_train=data.x_train[:2000],
        y_train=data.y_train[:2000],
        x_val=data.x_val[:500],
        y_val=data.y_val[:500],
    )
    space = one_network(family) if name == ONE_NETWORK_SPACE else None
    base = family.run_config({"seed": seed})
    return trial_costs(family, base, small, trials=trials, seed=seed, space=space).assign(
        space=name
    )


def searched_space(family: Family) -> Any:
    """``family``'s space less ``epochs``: every trial trains two epochs."""
    return family.space.without("epochs") if "epochs" in family.space.names else family.space


def one_network(family: Family) -> Any:
    """``family``'s space (less ``epochs``) with every parameter but :data:`ONE_NETWORK`
    fixed at its default: every trial builds the default network, so a rise of memory over
    its trials is what trials keep, not the size of the largest network built so far."""
    space = searched_space(family)
    defaults = space.defaults()
    return space.narrow(fixed={n: defaults[n] for n in space.names if n not in ONE_NETWORK})


def trial_costs(
    family: Family,
    base: RunConfig,
    data: Dataset,
    *,
    trials: int,
    seed: int = DEFAULT_SEED,
    space: Any = None,
) -> pd.DataFrame:
    """Run a KerasTuner random search of ``trials`` two-epoch trials over ``family``'s space
    in this process; return per trial its fixed cost (from the start of ``build`` to the end
    of the first epoch, less the second epoch's time: building, tracing and compiling, the
    same for either training loop), the second epoch's seconds, its seconds from ``build``
    to the end of training, the seconds before its ``build`` (since the previous trial's
    training ended, or the search started: KerasTuner's bookkeeping and the clean-up before
    a model), the resident memory after it, and what it drew of :data:`NETWORK`. ``space`` is the family's space (less
    ``epochs``) unless given."""
    from keras_fcn import tuning

    space = searched_space(family) if space is None else space
    rows: list[dict[str, Any]] = []
    hypermodel, probe = _timed(family, base, space, rows)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        options = tuning.SearchOptions(tuner="random", trials=trials, seed=seed)
        tuner = tuning.make_tuner(
            hypermodel, folder, options, project_name="trials", overwrite=True
        )
        tuner.show_trials = False  # the benchmark prints its own table
        tuner.search(
            data.x_train,
            data.y_train,
            epochs=2,
            validation_data=(data.x_val, data.y_val),
            callbacks=[probe, *tuning.search_callbacks(hypermodel, None)],
            verbose=0,
        )
    return _cost_table(rows, started)


def _timed(family: Family, base: RunConfig, space: Any, rows: list[dict[str, Any]]) -> tuple:
    """A hypermodel that starts a row of ``rows`` for each trial it builds, and a callback
    that writes into that row when the trial's epochs begin and end and when it ends."""
    import keras

    from keras_fcn import tuning

    class Timed(tuning.FamilyHyperModel):
        def build(self, hp: Any) -> keras.Model:
            drawn = {k: hp.values[k] for k in NETWORK if k in hp.values}
            rows.append({"trial": len(rows), "start": time.perf_counter(), **drawn})
            return super().build(hp)

    class Probe(keras.callbacks.Callback):
        def __deepcopy__(self, memo: dict) -> Probe:  # KerasTuner copies callbacks per trial
            return self

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            rows[-1]["epoch_start"] = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            now = time.perf_counter()
            rows[-1].setdefault("first_epoch_end", now)
            rows[-1]["last_epoch_s"] = now - rows[-1]["epoch_start"]

        def on_train_end(self, logs: Any = None) -> None:
            rows[-1]["end"] = time.perf_counter()
            rows[-1]["rss_mb"] = current_rss_mb()

    return Timed(family, base, space), Probe()


def _cost_table(rows: list[dict[str, Any]], started: float) -> pd.DataFrame:
    """One line per finished trial of ``rows`` (the search started at ``started``)."""
    done = [r for r in rows if "end" in r]
    ends = [started, *(r["end"] for r in done)]
    return pd.DataFrame(
        {
            "trial": range(1, len(done) + 1),
            "fixed_cost_s": [
                round(r["first_epoch_end"] - r["start"] - r["last_epoch_s"], 3) for r in done
            ],
            "second_epoch_s": [round(r["last_epoch_s"], 3) for r in done],
            "trial_s": [round(r["end"] - r["start"], 3) for r in done],
            "before_s": [round(r["start"] - end, 3) for r, end in zip(done, ends, strict=False)],
            "rss_mb": [round(r["rss_mb"], 1) for r in done],
            **{k: [r.get(k, "") for r in done] for k in NETWORK if any(k in r for r in done)},
        }
    )
