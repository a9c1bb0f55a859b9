"""The public API: what ``keras_fcn`` exports, and every example of docs/api.md, run."""

from __future__ import annotations

import re

import pytest

import keras_fcn as kf
from keras_fcn.family import DENSE
from tests.helpers import ROOT

EXAMPLES = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S)


def test_every_exported_name_exists_and_the_docs_show_each_function():
    page = (ROOT / "docs" / "api.md").read_text()
    for name in kf.__all__:
        assert hasattr(kf, name), name
    for name in ("resolve_run", "train_run", "run_seeds", "summarize", "reproduce_study"):
        assert f"kf.{name}(" in page, name


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_every_example_of_the_api_page_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {})
    assert capsys.readouterr().out.strip()  # each example prints what it shows


def test_resolve_run_applies_study_then_preset_then_overrides():
    run = kf.resolve_run(
        "dense",
        {"epochs": 7},
        study={"epochs": 3, "batch_size": 64, "learning_rate": 0.5},
        preset={"epochs": 5, "train_limit": 100},
    )
    assert run.train.epochs == 7 and run.data.train_limit == 100
    assert run.train.batch_size == 64 and run.train.learning_rate == 0.5
    assert run.train.seed == kf.DEFAULT_SEED == 42
    assert kf.resolve_run("dense") == DENSE.run_config()


def test_families_by_name_and_registration():
    assert {"dense", "lenet"} <= set(kf.families())
    with pytest.raises(kf.ConfigError, match="unknown family 'nope'; choose one of dense, lenet"):
        kf.get_family("nope")
    with pytest.raises(kf.ConfigError, match="already known"):
        kf.register_family(kf.Family("dense", kf.DenseConfig, DENSE.build, DENSE.space_file))


def test_run_seeds_resumes_without_training_again(tmp_path):
    run = kf.resolve_run("dense", {"hidden": "16", "epochs": 1, "train_limit": 500})
    first = kf.run_seeds(run, seeds=[1, 2], out=tmp_path)
    again = kf.run_seeds(run, seeds=[1, 2, 3], out=tmp_path)
    assert [r.created for r in again[:2]] == [r.created for r in first]
    assert [r.seed for r in again] == [1, 2, 3]
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 3
