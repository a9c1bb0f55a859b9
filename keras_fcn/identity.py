"""What makes two runs the same run: run ids, group keys and the record schema.

A run's id is the hash of its family and of every setting that can change its result: the
model, training and data configs less the speed settings (:data:`SPEED_FIELDS`), with the
values that depend on the machine resolved first: ``precision="auto"`` is the precision the
CPU gives it (:func:`keras_fcn.hardware.resolve_precision`), so one id never means bfloat16
on one machine and float32 on another. A group key is the same without the seed: the runs
an aggregate puts in one row.

Records carry a schema version (:data:`SCHEMA`). Records of schema 1 were written before the
fields of :data:`ADDED_IN_2` existed and before ids resolved ``auto``; :func:`migrate` reads
them as schema 2: those fields at the value every such run had, and the id recomputed.
Adding a field to a config class is a new schema with its own step in :func:`migrate`.

The ids of searches are in :mod:`keras_fcn.tuning.identity`; the selection id of a baseline
in :mod:`baselines.selection` (a record of a selection is found by it too, :func:`record_keys`).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from keras_fcn.hardware import keras_backend

SCHEMA = 2
"""The schema of the records this version writes."""

SPEED_FIELDS = ("jit_compile", "steps_per_execution", "eval_batch_size")
"""Training settings that change how fast a run trains, never what it learns."""

ADDED_IN_2 = {
    "model": {"input_dropout": 0.0, "defaults": "keras"},
    "train": {"loop": "fit", "label_smoothing": 0.0, "weight_decay": 0.0},
    "data": {"translate": 0.0, "rotate": 0.0},
}
"""Fields a schema-1 record may lack, by config part, with the value its run had."""

ADDED_FIELDS = frozenset(name for part in ADDED_IN_2.values() for name in part)
"""Every field added to the configs since the first records were written."""


class Status(enum.StrEnum):
    """How a run ended (a record's ``status``)."""

    OK = "ok"
    DIVERGED = "diverged"  # a non-finite loss stopped it; tested on its last finite weights
    FAILED = "failed"  # it raised; the note says why, and a study tries it again


def resolved_precision(
    precision: str, used: str | None = None, batch_size: int | None = None
) -> str:
    """``precision`` with ``auto`` replaced by the policy ``used`` (a record's ``precision``
    note, e.g. ``mixed_bfloat16 (auto: the CPU has avx512_bf16)``), else this machine's at
    ``batch_size``."""
    if precision != "auto":
        return precision
    if used:
        return used.split()[0].rstrip(";")
    from keras_fcn.hardware import resolve_precision

    return resolve_precision("auto", batch_size=batch_size)[0]


def result_settings(config: Mapping[str, Any], precision_used: str | None = None) -> dict:
    """A run's config (``{"model", "train", "data"}``) as its id sees it: less the speed
    settings, ``precision`` resolved (:func:`resolved_precision`), and ``loop="epoch"`` as
    ``fit`` where Keras does not run on TensorFlow (the epoch loop trains there by ``fit``)."""
    settings = {p: dict(v) if isinstance(v, Mapping) else v for p, v in config.items()}
    train = settings.get("train")
    if isinstance(train, dict):
        for name in SPEED_FIELDS:
            train.pop(name, None)
        if "precision" in train:
            batch = train.get("batch_size")
            train["precision"] = resolved_precision(train["precision"], precision_used, batch)
        if train.get("loop") == "epoch" and keras_backend() != "tensorflow":
            train["loop"] = "fit"
    return settings


def digest(value: Any, length: int = 16) -> str:
    """A short, stable hash of JSON-ready ``value`` (keys sorted)."""
    text = json.dumps(jsonable(value), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def run_id(family: str, config: Mapping[str, Any], precision_used: str | None = None) -> str:
    """The id of the run of ``family`` with ``config``: the hash of its result settings."""
    return digest({"family": family, "config": result_settings(config, precision_used)})


def group_key(family: str, config: Mapping[str, Any], precision_used: str | None = None) -> str:
    """The id of a run less its seed: the key of the group of its seeds."""
    settings = result_settings(config, precision_used)
    if isinstance(settings.get("train"), dict):
        settings["train"].pop("seed", None)
    return digest({"family": family, "config": settings}, 12)


def record_keys(run_id: str, config: Any) -> tuple[str, ...]:
    """What a record is found by: its run id and, for a baseline's selection, the id of the
    selection it is the result of (``config["search_id"]``, :mod:`baselines.selection`),
    whichever setting it chose. A task of :mod:`keras_fcn.runner` is done when a record
    found by its id is stored."""
    search = config.get("search_id") if isinstance(config, Mapping) else None
    return (run_id, search) if search else (run_id,)


def record_group_key(record: Any) -> str:
    """:func:`group_key` of a :class:`~keras_fcn.record.RunRecord`."""
    return group_key(record.family, record.config, record.precision)


def schema1_run_id(family: str, config: Mapping[str, Any]) -> str:
    """The id a run had under schema 1: speed settings and the fields of :data:`ADDED_IN_2`
    at their old value left out, ``precision`` as written (``auto`` unresolved). What a
    schema-1 summary names its final runs by."""
    settings = {}
    for part, values in config.items():
        old = ADDED_IN_2.get(part, {})
        settings[part] = {
            k: v
            for k, v in values.items()
            if not (part == "train" and k in SPEED_FIELDS) and not (k in old and v == old[k])
        }
    return digest({"family": family, "config": settings})


def migrate(values: dict[str, Any]) -> dict[str, Any]:
    """A record read from JSON as the current schema describes it.

    Schema 1 to 2: a run of a model family gets the fields of :data:`ADDED_IN_2` its
    configs have, at the value it ran with, and its id recomputed by :func:`run_id`. A
    baseline's record only changes its schema number.
    """
    if values.get("schema", 1) >= SCHEMA:
        return values
    values = {**values, "schema": SCHEMA}
    classes = _config_classes(values.get("family", ""))
    if classes is None:
        return values
    config = {part: dict(v) for part, v in values["config"].items()}
    for part, cls in zip(("model", "train", "data"), classes, strict=True):
        known = {f.name for f in dataclasses.fields(cls)}
        for name, value in ADDED_IN_2[part].items():
            if name in known:
                config.setdefault(part, {}).setdefault(name, value)
    values["config"] = config
    values["run_id"] = run_id(values["family"], config, values.get("precision"))
    return values


def _config_classes(family: str) -> tuple[type, type, type] | None:
    from keras_fcn.registry import families

    known = families()
    return known[family].fields() if family in known else None


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: tuples as lists, numpy scalars as Python numbers, NaN
    as None and infinities as the largest float."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    return value
