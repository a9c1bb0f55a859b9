"""The benchmark: what it measures, its table, the missing-PyTorch path and the command.

Tests that train the PyTorch reference are marked ``bench``: they run with
``make test-bench``, which installs the optional PyTorch extra.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from keras_fcn import benchmark
from keras_fcn.errors import ConfigError, KerasFcnError
from keras_fcn.family import DENSE
from keras_fcn.train import train_run

ROOT = Path(__file__).resolve().parents[1]


def _measurement(model, framework, epoch_s, images=1000, accuracy=0.5):
    return benchmark.Measurement(
        case=f"{model}/{framework}", model=model, framework=framework, variant="v",
        backend="", images=images, epoch_s=[epoch_s], test_accuracy=accuracy,
        peak_rss_mb=100.0, versions={},
    )  # fmt: skip


def test_steady_throughput_is_the_median_epoch_after_warm_up():
    # the 9 s first epoch (compilation) and the 3 s outlier do not count
    assert benchmark.steady_throughput([[9.0, 1.0, 2.0, 3.0]], 1000) == 500.0
    assert benchmark.steady_throughput([[4.0]], 1000) == 250.0
    # two processes: both warm-up epochs left out, the median of the four others
    assert benchmark.steady_throughput([[9.0, 1.0, 4.0], [8.0, 1.0, 9.0]], 1000) == 400.0
    with pytest.raises(ValueError):
        benchmark.steady_throughput([], 1000)


def test_merged_measurement_keeps_every_process():
    one = _measurement("dense", "keras-fcn", [6.0, 1.0])
    both = one.merge(dataclasses.replace(one, epoch_s=[[4.0, 2.0]], peak_rss_mb=300.0))
    assert both.first_epoch_s == 5.0 and both.steady_images_per_s == 1000 / 1.5
    assert both.peak_rss_mb == 300.0 and both.row()["processes"] == 2


def test_comparison_divides_each_row_by_its_models_pytorch_reference():
    table = benchmark.comparison(
        [
            _measurement("dense", "pytorch", [5, 1.0, 1.0]),
            _measurement("dense", "keras-fcn", [5, 0.5, 0.5]),
            _measurement("lenet", "keras-fcn", [5, 2.0, 2.0]),
        ]
    )
    assert table["vs_pytorch"].tolist()[:2] == [1.0, 2.0]
    assert pd.isna(table["vs_pytorch"].iloc[2])  # no lenet reference: no ratio
    assert table["images_per_s"].tolist() == [1000, 2000, 500]
    assert table["first_epoch_s"].tolist() == [5, 5, 5]


def test_unknown_case_is_one_clear_error():
    with pytest.raises(ConfigError, match="unknown benchmark case 'dense/keras/fast'; choose"):
        benchmark.find_case("dense/keras/fast")
    assert {c.model for c in benchmark.CASES} == set(benchmark.MODELS)
    assert len({c.name for c in benchmark.CASES}) == len(benchmark.CASES)


def test_no_two_cases_of_a_model_train_the_same_way():
    # a setting equal to the default would measure the defaults twice under another name
    from experiments import _registry

    trained = {
        (
            c.model,
            c.framework,
            _registry.family(c.model).run_config(c.settings),
            tuple(sorted(c.env.items())),
        )
        for c in benchmark.CASES
    }
    assert len(trained) == len(benchmark.CASES)


def test_a_case_with_environment_settings_gets_them_in_its_own_process(monkeypatch):
    from experiments.benchmark import child_env

    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "4")
    threads = benchmark.find_case("dense/keras-fcn/TF_NUM_INTEROP_THREADS=1")
    assert threads.variant == "TF_NUM_INTEROP_THREADS=1"
    assert child_env(threads, None)["TF_NUM_INTEROP_THREADS"] == "1"
    defaults = benchmark.find_case("dense/keras-fcn/defaults")
    assert child_env(defaults, None)["TF_NUM_INTEROP_THREADS"] == "4"  # the caller's own
    assert child_env(defaults, "jax")["KERAS_BACKEND"] == "jax"


# batches of 64: enough SGD steps on 3,000 images for the accuracy to mean something
KERAS_64 = benchmark.Case("dense", "keras-fcn", {"batch_size": 64})
TORCH_64 = benchmark.Case("dense", "pytorch", {"batch_size": 64})


def test_keras_case_times_every_epoch_through_the_training_path(fashion_small):
    case = KERAS_64
    result = benchmark.run_case(case, DENSE, fashion_small, epochs=3, seed=42)
    assert len(result.epoch_s[0]) == 3 and all(t > 0 for t in result.epoch_s[0])
    assert result.images == 3000 and result.backend == "tensorflow"
    assert result.variant == "batch_size=64"
    assert 0 < result.peak_rss_mb <= benchmark.peak_rss_mb()  # taken during this process
    assert result.test_accuracy > 0.6


def test_plain_loop_trains_the_same_model_and_optimizer_as_fit(fashion_small):
    # the loop that shows what fit costs must learn what fit learns, or it measures nothing
    loop = benchmark.run_case(
        benchmark.Case("dense", "tf-loop", {"batch_size": 64}), DENSE, fashion_small,
        epochs=3, seed=42,
    )  # fmt: skip
    fit = benchmark.run_case(KERAS_64, DENSE, fashion_small, epochs=3, seed=42)
    assert loop.variant == "model and optimizer, no fit" and loop.images == 3000
    assert len(loop.epoch_s[0]) == 3 and all(t > 0 for t in loop.epoch_s[0])
    assert loop.test_accuracy > 0.6
    assert abs(loop.test_accuracy - fit.test_accuracy) <= 0.03


# small enough to train three times in a few seconds, large enough to learn in two epochs
SPEED_BASE = {"hidden": (64,), "epochs": 2, "batch_size": 64, "seed": 7, "optimizer": "adam",
              "learning_rate": 0.002}  # fmt: skip


def test_speed_settings_change_the_arithmetic_but_not_what_is_learned(fashion_small):
    # XLA and bfloat16 compute change how each step is computed; the benchmark reports their
    # speed, which is only worth having if what the network learns stays the same
    runs = {}
    for name in ("defaults", "jit_compile=on", "precision=mixed_bfloat16"):
        settings = {**SPEED_BASE, **benchmark.find_case(f"dense/keras-fcn/{name}").settings}
        trained = train_run(DENSE, DENSE.run_config(settings), fashion_small)
        runs[name] = (trained.record, trained.model)
    (plain, plain_model), (xla, xla_model), (bf16, bf16_model) = runs.values()
    assert len(fashion_small.y_test) == 1000
    for record in (xla, bf16):  # 2 points on 1,000 test images
        assert abs(record.test_accuracy - plain.test_accuracy) <= 0.02
        assert record.test_accuracy > 0.7  # and all of them learned something

    # the settings really changed the computation: each trained to other weights
    assert not plain_model.jit_compile and xla_model.jit_compile
    dense_layers = [la for la in bf16_model.layers if isinstance(la, keras.layers.Dense)]
    assert dense_layers and all(la.compute_dtype == "bfloat16" for la in dense_layers)
    assert all(la.variable_dtype == "float32" for la in dense_layers)
    assert all(la.compute_dtype == "float32" for la in plain_model.layers)
    plain_weights = plain_model.get_weights()
    for model in (xla_model, bf16_model):
        assert not all(
            np.array_equal(a, b) for a, b in zip(plain_weights, model.get_weights(), strict=True)
        )


def test_missing_pytorch_says_how_to_install_it(monkeypatch, fashion_small):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.delitem(sys.modules, "keras_fcn.torch_reference", raising=False)
    with pytest.raises(
        KerasFcnError, match=r"PyTorch is not installed.*pip install -e \.\[bench\]"
    ):
        benchmark.run_case(
            benchmark.find_case("dense/pytorch/reference loop"),
            DENSE,
            fashion_small,
            epochs=2,
            seed=42,
        )


def test_trial_costs_measure_every_trial_in_one_process(fashion_small):
    trials = benchmark.trial_costs(DENSE, DENSE.run_config(), fashion_small, trials=3)
    assert trials["trial"].tolist() == [1, 2, 3]
    assert (trials["fixed_cost_s"] > 0).all()
    assert (trials["fixed_cost_s"] <= trials["trial_s"]).all()
    # each trial's resident memory, measured now, never above the process's peak since
    assert (trials["rss_mb"] > 0).all() and (trials["rss_mb"] <= benchmark.peak_rss_mb()).all()


# Run in a quiet process of its own: 256 MB written page by page must show in the current
# resident memory and stay in the peak once freed. Linux carries a parent's peak over to its
# children, so the peak may start above the current size: only its bounds are known.
MEMORY_PROBE = """
import json
import numpy as np
from keras_fcn import benchmark

def measure():
    return benchmark.current_rss_mb(), benchmark.peak_rss_mb()

before = measure()
block = np.ones(256 * 2**20 // 8)
held = measure()
del block
print(json.dumps([before, held, measure()]))
"""


def test_resident_memory_measures_follow_a_known_allocation():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (now_0, peak_0), (now_1, peak_1), (now_2, peak_2) = json.loads(done.stdout)
    assert now_1 - now_0 == pytest.approx(256, abs=16)
    assert now_2 - now_0 == pytest.approx(0, abs=16)  # the block went back to the system
    assert peak_0 >= now_0 - 1 and peak_1 >= now_1 - 1  # never below the current size
    assert peak_2 >= now_1 - 1 and peak_2 >= peak_1  # and it remembers the block once freed


def test_command_without_pytorch_still_measures_keras_fcn(tmp_path):
    fake = tmp_path / "no_torch"
    fake.mkdir()
    (fake / "torch.py").write_text("raise ImportError('no module named torch')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(ROOT)])}
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--models", "lenet", "--quick",
         "--trials", "0", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "skipped: error: PyTorch is not installed" in done.stdout
    table = pd.read_csv(out / "benchmark.csv")
    assert set(table["framework"]) == {"keras-fcn"}  # JAX adds a row where it is installed
    assert (table["backend"] == "tensorflow").sum() == 3
    assert table["vs_pytorch"].isna().all()
    assert (out / "benchmark.md").exists() and (out / "benchmark.json").exists()


def test_command_rejects_bad_arguments_in_one_line(tmp_path, capsys):
    from experiments import benchmark as command
    from experiments._cli import run_main

    for argv, message in [
        (["--models", "resnet"], "error: --models 'resnet': choose from dense, lenet\n"),
        (["--epochs", "1"], "error: --epochs 1: at least 2 (the first is warm-up)\n"),
    ]:
        with pytest.raises(SystemExit) as info:
            run_main(command.main, [*argv, "--out", str(tmp_path / "x")])
        assert info.value.code == 2
        assert capsys.readouterr().err == message
    assert not (tmp_path / "x").exists()


@pytest.mark.bench
def test_pytorch_lenet_is_the_same_network():
    from cnn.model import build_lenet5
    from keras_fcn import torch_reference as ref

    params = sum(p.numel() for p in ref.lenet5().parameters())
    assert params == build_lenet5().count_params() == 61_706
    dense = sum(p.numel() for p in ref.dense_network((512, 256)).parameters())
    assert dense == 535_818


@pytest.mark.bench
def test_pytorch_reference_learns_like_keras_fcn(fashion_small):
    torch_run = benchmark.run_case(TORCH_64, DENSE, fashion_small, epochs=3, seed=42)
    keras_run = benchmark.run_case(KERAS_64, DENSE, fashion_small, epochs=3, seed=42)
    assert len(torch_run.epoch_s[0]) == 3 and torch_run.framework == "pytorch"
    # same network, optimizer and data: both well above chance, within a few points
    assert torch_run.test_accuracy > 0.6
    assert abs(torch_run.test_accuracy - keras_run.test_accuracy) < 0.1
