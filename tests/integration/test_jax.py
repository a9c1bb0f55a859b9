"""The same commands on Keras's JAX backend (``KERAS_BACKEND=jax``).

JAX comes with the ``dev`` extra, so ``make test`` runs these; without JAX they are skipped.
Everything runs in one process of its own (the test process runs Keras on TensorFlow), so
that JAX is imported once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytest.importorskip("jax", reason="JAX is not installed (pip install -e .[dev])")

# The command twice with one seed, on a slice (a few hundred SGD steps: enough to learn),
# then which training steps are compiled with XLA; prints the records and those answers.
SCRIPT = """
import json, sys
from pathlib import Path
from experiments.fashion_dense import main
from keras_fcn.config import DenseConfig, TrainConfig
from keras_fcn.model import build_dense
from keras_fcn.compiled import use_jit

records = []
for name in ("a", "b"):
    out = Path(sys.argv[1]) / name
    main(["--quick", "--epochs", "3", "--set", "train_limit=3000", "--set", "test_limit=1000",
          "--set", "batch_size=64", "--verbose", "0", "--out", str(out)])
    (record,) = out.glob("*/record.json")
    records.append(json.loads(record.read_text()))
model = build_dense(DenseConfig(hidden=(8,), dropout=0.2))
jit = [use_jit(model, TrainConfig(jit_compile=m)) for m in ("off", "auto", "on")]
print(json.dumps({"records": records, "jit": jit}))
"""


@pytest.fixture(scope="module")
def on_jax(tmp_path_factory) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    folder = tmp_path_factory.mktemp("jax")
    command = [sys.executable, "-c", SCRIPT, str(folder)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_dense_quick_run_trains_on_jax_and_repeats_with_its_seed(on_jax):
    first, again = on_jax["records"]
    assert first["versions"]["backend"] == "jax" and first["versions"]["jax"]
    assert first["test_accuracy"] > 0.70
    assert first["history"] == again["history"]


def test_every_step_is_compiled_on_jax_whatever_jit_compile_says(on_jax):
    assert on_jax["jit"] == [True, True, True]
