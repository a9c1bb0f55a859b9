"""The runs of one config made with each of two values of a setting (``float32`` and
``bfloat16``; ``fit`` and the epoch loop), on full data, paired by seed: the comparison
section of ``docs/speed.md``."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from keras_fcn import layout
from keras_fcn.commands import Command
from keras_fcn.identity import Status, group_key
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.reporting.records import full_data
from keras_fcn.reporting.tables import unpadded_markdown
from keras_fcn.study import compare


def single_runs(root: str | os.PathLike) -> list[RunRecord]:
    """The records of the commands that train one config (``experiments.fashion_dense``, ...)
    under a results root: the runs a setting is compared on, each trained the same way
    (a study's runs may have trained several at once, on fewer threads each)."""
    return [r for command in layout.SINGLE_RUNS for r in RunStore(layout.runs(command, root))]


COMPARED = {"precision": ("float32", "bfloat16"), "loop": ("fit", "epoch")}
"""The settings whose values are compared on full data: a default against what it replaced."""


def _compared_value(record: RunRecord, setting: str) -> str:
    """What ``record`` ran with: its computed precision (``auto`` resolved), or its loop
    (``fit`` for records made before the loop was a setting)."""
    if setting == "precision":
        return "float32" if record.precision.startswith("float32") else "bfloat16"
    return record.config["train"][setting]


def setting_pairs(
    records: Iterable[RunRecord], setting: str = "precision"
) -> list[tuple[list[RunRecord], list[RunRecord]]]:
    """Full-data runs of one config made with each of the two values of ``setting`` (see
    :data:`COMPARED`): ``(runs with the first, runs with the second)`` per config."""
    groups: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if "train" not in record.config or not full_data(record) or record.status != Status.OK:
            continue  # a baseline, a run on part of the data, or one that did not finish
        config = json.loads(json.dumps(record.config))
        config["train"].pop(setting, None)
        groups[group_key(record.family, config, record.precision)][
            _compared_value(record, setting)
        ].append(record)
    first, second = COMPARED[setting]
    return [(g[first], g[second]) for g in groups.values() if g[first] and g[second]]


def comparison_section(
    records: Iterable[RunRecord], test_labels: Callable[[RunRecord], np.ndarray]
) -> list[str]:
    """Each compared setting's two values on full data, paired by seed, for every config
    run with both."""
    lines = [
        "## float32 against bfloat16, fit against the epoch loop, on full data",
        "",
        "Runs of one config with both values of a setting found in the committed records,",
        "paired by seed (`keras_fcn.study.compare`: paired t-test over the seeds, McNemar's",
        "test per seed). To add a config: train it with each value (`--set precision=float32`",
        "and `--set precision=mixed_bfloat16`, or `--set loop=fit` and `--set loop=epoch`)",
        "over the same seeds, then `python -m experiments.report --save-records --docs`.",
        "",
    ]
    table = comparison_table(records, test_labels)
    return [*lines, table or "No config has full-data runs with both values of a setting yet.", ""]


def comparison_table(
    records: Iterable[RunRecord], test_labels: Callable[[RunRecord], np.ndarray]
) -> str | None:
    """The configs run with both values of a compared setting, paired by seed, as Markdown
    (A the first value, B the second); ``None`` for none."""
    records = list(records)
    rows = []
    for setting, (a, b) in COMPARED.items():
        for first, second in setting_pairs(records, setting):
            try:
                result = compare(first, second, test_labels(first[0]))
            except ValueError:  # no seed with a usable run of both values
                continue
            by_seed = {r.seed: r for r in first}, {r.seed: r for r in second}
            line = Command.parse(first[0].command).without("--seed").without_settings(setting)
            rows.append(
                {
                    "A / B": f"{a} / {b}",
                    "command": line.render(),
                    "seeds": ", ".join(map(str, result.seeds)),
                    **{
                        f"{name} %": ", ".join(
                            f"{100 * runs[s].test_accuracy:.2f}" for s in result.seeds
                        )
                        for name, runs in zip("AB", by_seed, strict=True)
                    },
                    "A - B (points)": f"{100 * result.mean_difference:+.2f}",
                    "paired t p": f"{result.t_pvalue:.2g}",
                    "McNemar p per seed": ", ".join(
                        f"{p:.2g}" for _, _, p in result.mcnemar.values()
                    ),
                    "verdict": "beyond seed noise" if result.significant else "within seed noise",
                }
            )
    return unpadded_markdown(pd.DataFrame(rows)) if rows else None
