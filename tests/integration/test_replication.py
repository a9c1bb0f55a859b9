"""Published studies: their CSVs, their protocols re-run table by table, and the registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from keras_fcn.record import RunRecord
from keras_fcn.replication import (
    get_study,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "example_study"
KONYCHEVA = get_study("konycheva")


def _no_data(data_config):
    return None


def _trainer_by_lr(calls):
    def trainer(family, run, data):
        calls.append(run)
        score = {0.005: 0.9, 0.01: 0.8}.get(run.train.learning_rate, 0.5)
        if run.model.hidden == (256, 128, 64):
            score += 0.05
        return RunRecord(
            run.run_id,
            family.name,
            run.to_dict(),
            run.train.seed,
            test_accuracy=score,
            best_val_accuracy=score,
        )

    return trainer


# the registry


def _module(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(text)
    return folder


TOY = (EXAMPLE / "toy.py").read_text()


def test_finding_the_studies_imports_neither_cnn_nor_tensorflow():
    code = (
        "import sys; from keras_fcn.replication import all_studies; all_studies(); "
        "print(sorted(m for m in ('cnn', 'experiments', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# the example study of docs/published-studies.md, end to end through the command
