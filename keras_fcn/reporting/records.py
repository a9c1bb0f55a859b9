"""Reading the run records the commands left under the results root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keras_fcn import layout
from keras_fcn.identity import SCHEMA, Status, schema1_run_id
from keras_fcn.record import DEFAULT_FRAMEWORK, RunRecord, RunStore


def read_runs(path: str | os.PathLike) -> list[RunRecord]:
    """The records of one ``runs.jsonl``, failed runs left out; none if it does not exist."""
    path = Path(path)
    return [r for r in RunStore(path) if r.status != Status.FAILED] if path.exists() else []


def final_records(folder: str | os.PathLike, summary: Mapping[str, Any]) -> list[RunRecord]:
    """A finished search's own final runs (its folder may hold runs of an earlier best): those
    its ``summary`` names, by their id, or by the id they had under schema 1 when the
    summary is that old (:func:`keras_fcn.identity.schema1_run_id`)."""
    wanted = set(summary.get("final_run_ids", []))
    old = summary.get("schema", 1) < SCHEMA

    def named(r: RunRecord) -> bool:
        return (schema1_run_id(r.family, r.config) if old else r.run_id) in wanted

    return [r for r in read_runs(Path(folder) / layout.FINAL_RUNS) if named(r)]


def find_records(results: str | os.PathLike) -> list[RunRecord]:
    """Every complete record of keras-fcn's training in every ``*.jsonl`` store under
    ``results`` (failed runs left out, and the runs of the PyTorch loop, which share their
    run ids with ours and are read only beside them)."""
    records: dict[str, RunRecord] = {}
    for path in layout.records(results):
        for record in RunStore(path):
            ours = record.framework == DEFAULT_FRAMEWORK
            if ours and record.status != Status.FAILED and record.test_accuracy is not None:
                records[record.run_id] = record
    return list(records.values())


def full_data(record: RunRecord) -> bool:
    """Whether a run saw the whole training and test sets (quick runs are left out of tables)."""
    data = record.config.get("data", {})
    return data.get("train_limit") is None and data.get("test_limit") is None
