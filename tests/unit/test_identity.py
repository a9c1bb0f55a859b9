"""Run ids, group keys and the record schema (keras_fcn.identity)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from keras_fcn import identity
from keras_fcn.family import DENSE
from keras_fcn.hardware import resolve_precision
from keras_fcn.record import RunRecord
from keras_fcn.registry import families

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "docs" / "records").glob("**/*.jsonl.gz"))


def _committed_family_records() -> list[dict]:
    rows = []
    for path in COMMITTED:
        with gzip.open(path, "rt") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["family"] in families()]


def test_schema_1_ids_are_what_every_committed_record_was_written_with():
    records = [r for r in _committed_family_records() if r.get("schema", 1) == 1]
    assert len(records) > 500  # the records written before the schema had a number
    for raw in records:
        assert identity.schema1_run_id(raw["family"], raw["config"]) == raw["run_id"]


def test_a_committed_record_read_today_has_its_configs_full_and_its_id_recomputed():
    for raw in _committed_family_records()[::25]:
        record = RunRecord.from_dict(raw)
        config = record.config
        assert record.schema == identity.SCHEMA
        assert record.run_id == identity.run_id(record.family, config, record.precision)
        classes = families()[record.family].fields()
        for part, cls in zip(("model", "train", "data"), classes, strict=True):
            assert set(config[part]) == {f for f in cls.__dataclass_fields__}


def test_the_run_of_a_migrated_record_has_its_id():
    dense = [r for r in _committed_family_records() if r["family"] == "dense"]
    raw = next(r for r in dense if r["config"]["train"]["precision"] != "auto")
    record = RunRecord.from_dict(raw)
    assert DENSE.from_dict(record.config).run_id == record.run_id


def test_auto_precision_is_resolved_before_the_id():
    auto = DENSE.run_config({"hidden": (64,), "precision": "auto"})
    here = resolve_precision("auto")[0]
    other = "float32" if here == "mixed_bfloat16" else "mixed_bfloat16"
    assert auto.run_id == auto.with_settings({"precision": here}).run_id
    assert auto.run_id != auto.with_settings({"precision": other}).run_id
    config = auto.to_dict()
    assert identity.run_id("dense", config, "float32 (auto: no bf16)") == identity.run_id(
        "dense", {**config, "train": {**config["train"], "precision": "float32"}}
    )


def test_speed_settings_and_the_seed_leave_the_group_and_only_the_seed_the_id():
    run = DENSE.run_config({"hidden": (64,)})
    faster = run.with_settings({"jit_compile": "on", "steps_per_execution": 4})
    reseeded = run.with_settings({"seed": 7})
    assert faster.run_id == run.run_id != reseeded.run_id
    keys = {identity.group_key("dense", r.to_dict()) for r in (run, faster, reseeded)}
    assert len(keys) == 1
    assert identity.group_key("dense", run.with_settings({"l2": 1e-4}).to_dict()) not in keys


def test_current_records_are_not_migrated_and_baselines_keep_their_ids():
    current = {"run_id": "x", "family": "dense", "config": {}, "seed": 1, "schema": 2}
    assert identity.migrate(current) is current
    baseline = {"run_id": "b", "family": "knn", "config": {"data": {}}, "seed": 0}
    assert identity.migrate(baseline) == {**baseline, "schema": identity.SCHEMA}


@pytest.mark.parametrize("status", list(identity.Status))
def test_statuses_read_and_write_as_their_names(status):
    assert status == status.value and json.dumps(status) == f'"{status.value}"'


def test_the_epoch_loop_is_fit_in_the_id_where_keras_is_not_on_tensorflow(monkeypatch):
    run = DENSE.run_config({"hidden": (64,), "loop": "epoch"})
    fit = run.with_settings({"loop": "fit"})
    assert run.run_id != fit.run_id
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert run.run_id == fit.run_id


def test_a_record_says_how_many_threads_trained_it(fashion_small):
    from keras_fcn.hardware import tensorflow_threads
    from keras_fcn.train import train_record

    run = DENSE.run_config({"hidden": (16,), "epochs": 1, "batch_size": 256})
    record = train_record(DENSE, run, fashion_small)
    assert record.threads == tensorflow_threads() >= 1
    assert RunRecord.from_dict(record.to_dict()).threads == record.threads
