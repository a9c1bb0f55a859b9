"""The same commands on Keras's JAX backend (``KERAS_BACKEND=jax``).

Marked ``bench``: JAX comes with the benchmark's optional extra (``make test-bench``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.bench


def _quick_run(out: Path) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    command = [sys.executable, "-m", "experiments.fashion_dense", "--quick", "--verbose", "0",
               "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    (record,) = out.glob("*/record.json")
    return json.loads(record.read_text())


def test_dense_quick_run_trains_on_jax_and_repeats_with_its_seed(tmp_path):
    first = _quick_run(tmp_path / "a")
    again = _quick_run(tmp_path / "b")
    assert first["versions"]["backend"] == "jax" and first["versions"]["jax"]
    assert first["test_accuracy"] > 0.70
    assert first["history"] == again["history"]


def test_every_step_is_compiled_on_jax_whatever_jit_compile_says():
    script = (
        "from keras_fcn.config import DenseConfig, TrainConfig\n"
        "from keras_fcn.model import build_dense\n"
        "from keras_fcn.train import use_jit\n"
        "model = build_dense(DenseConfig(hidden=(8,), dropout=0.2))\n"
        "print([use_jit(model, TrainConfig(jit_compile=m)) for m in ('off', 'auto', 'on')])\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == "[True, True, True]"
