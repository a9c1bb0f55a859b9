"""The benchmark's cases trained for real: keras-fcn, the plain TensorFlow loop, the speed
settings, the missing-PyTorch path, the tuning trials and the command end to end.

Tests that train the PyTorch reference, and the whole command (a process per case, about a
minute), are marked ``bench``: they run with ``make test-bench``, which installs the
optional PyTorch extra.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from experiments.bench import limits as bench_limits
from experiments.bench import memory
from experiments.bench.cases import CASES, MODELS, Case, find_case
from experiments.bench.measure import run_case
from experiments.bench.trials import one_network, trial_costs
from keras_fcn import hardware
from keras_fcn.errors import ConfigError, KerasFcnError
from keras_fcn.family import DENSE
from keras_fcn.train import train_model
from tests.helpers import ROOT


def test_unknown_case_is_one_clear_error():
    with pytest.raises(ConfigError, match="unknown benchmark case 'dense/keras/fast'; choose"):
        find_case("dense/keras/fast")
    assert {c.model for c in CASES} == set(MODELS)
    assert len({c.name for c in CASES}) == len(CASES)


def test_no_two_cases_of_a_model_train_the_same_way():
    # a setting equal to the default would measure the defaults twice under another name
    from keras_fcn import registry

    trained = {
        (
            c.model,
            c.framework,
            registry.get_family(c.model).run_config(c.settings),
            tuple(sorted(c.env.items())),
        )
        for c in CASES
    }
    assert len(trained) == len(CASES)


def test_a_case_with_environment_settings_gets_them_in_its_own_process(monkeypatch):
    from experiments.benchmark import child_env

    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "4")
    threads = find_case("dense/keras-fcn/TF_NUM_INTEROP_THREADS=1")
    assert threads.variant == "TF_NUM_INTEROP_THREADS=1"
    assert child_env(threads, None)["TF_NUM_INTEROP_THREADS"] == "1"
    defaults = find_case("dense/keras-fcn/defaults")
    assert child_env(defaults, None)["TF_NUM_INTEROP_THREADS"] == "4"  # the caller's own
    assert child_env(defaults, "jax")["KERAS_BACKEND"] == "jax"


# batches of 64: enough SGD steps on 3,000 images for the accuracy to mean something
KERAS_64 = Case("dense", "keras-fcn", {"batch_size": 64})
TORCH_64 = Case("dense", "pytorch", {"batch_size": 64})


def test_keras_case_times_every_epoch_through_the_training_path(fashion_small):
    result = run_case(KERAS_64, DENSE, fashion_small, epochs=3, seed=42)
    assert len(result.epoch_s[0]) == 3 and all(t > 0 for t in result.epoch_s[0])
    assert result.images == 3000 and result.backend == "tensorflow"
    # the dense family's precision=auto, resolved from this CPU's flags
    policy, _ = hardware.resolve_precision(DENSE.train.precision)
    expected = "bfloat16" if policy == "mixed_bfloat16" else "float32"
    assert result.variant == "batch_size=64" and result.precision == expected
    assert 0 < result.peak_rss_mb[0] <= memory.peak_rss_mb()  # taken during this process
    assert result.test_accuracy > 0.6


def test_plain_loop_trains_the_same_model_and_optimizer_as_fit(fashion_small):
    # the loop that shows what fit costs must learn what fit learns, or it measures nothing
    loop_case = Case("dense", "tf-loop", {"batch_size": 64})
    loop = run_case(loop_case, DENSE, fashion_small, epochs=3, seed=42)
    fit = run_case(KERAS_64, DENSE, fashion_small, epochs=3, seed=42)
    assert loop.variant == "model and optimizer, no fit" and loop.images == 3000
    assert len(loop.epoch_s[0]) == 3 and all(t > 0 for t in loop.epoch_s[0])
    assert loop.test_accuracy > 0.6
    assert abs(loop.test_accuracy - fit.test_accuracy) <= 0.03


# small enough to train three times in a few seconds, large enough to learn in two epochs
SPEED_BASE = {
    "hidden": (64,),
    "epochs": 2,
    "batch_size": 64,
    "seed": 7,
    "optimizer": "adam",
    "learning_rate": 0.002,
}


def test_speed_settings_change_the_arithmetic_but_not_what_is_learned(fashion_small):
    # XLA and bfloat16 compute change how each step is computed; the benchmark reports their
    # speed, which is only worth having if what the network learns stays the same
    runs = {}
    for name in ("precision=float32", "jit_compile=on precision=float32", "bfloat16"):
        settings = {**SPEED_BASE, "precision": "float32"}
        if name == "bfloat16":
            settings["precision"] = "mixed_bfloat16"
        else:
            settings.update(find_case(f"dense/keras-fcn/{name.split()[0]}").settings)
        trained = train_model(DENSE, DENSE.run_config(settings), fashion_small)
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
    monkeypatch.delitem(sys.modules, "experiments.bench.torch_reference", raising=False)
    reference = find_case("dense/pytorch/reference loop")
    with pytest.raises(
        KerasFcnError, match=r"PyTorch is not installed.*pip install -e \.\[bench\]"
    ):
        run_case(reference, DENSE, fashion_small, epochs=2, seed=42)


def test_trial_costs_measure_every_trial_in_one_process(fashion_small):
    trials = trial_costs(DENSE, DENSE.run_config(), fashion_small, trials=3)
    assert trials["trial"].tolist() == [1, 2, 3]
    assert (trials["fixed_cost_s"] > 0).all()
    assert (trials["fixed_cost_s"] <= trials["trial_s"]).all()
    assert (trials["before_s"] >= 0).all()
    assert (trials["second_epoch_s"] > 0).all()
    assert {"hidden", "batch_norm", "batch_size"} <= set(trials)  # what sized its graph
    assert trials["hidden"].astype(str).str.fullmatch(r"\d+(-\d+)*").all()
    # each trial's resident memory, measured now, never above the process's peak since, up
    # to how the kernel counts (Linux 6.2+ reads a process's three resident-page counters
    # from per-CPU parts, each off by at most max(32, 2 x CPUs) pages per CPU) and to the
    # table's rounding to 0.1 MB
    cpus = os.cpu_count() or 1
    slack_mb = 3 * max(32, 2 * cpus) * cpus * resource.getpagesize() / 2**20 + 0.05
    assert (trials["rss_mb"] > 0).all()
    assert (trials["rss_mb"] <= memory.peak_rss_mb() + slack_mb).all()


# about a minute (a process per case): with the benchmark's other end-to-end tests, `make test-bench`
@pytest.mark.bench
def test_command_without_pytorch_still_measures_keras_fcn(tmp_path):
    fake = tmp_path / "no_torch"
    fake.mkdir()
    (fake / "torch.py").write_text("raise ImportError('no module named torch')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(ROOT)])}
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "experiments.benchmark", "--models", "lenet", "--quick"]
    argv += ["--trials", "0", "--search", "0", "--out", str(out)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("CPU: ")  # its flags, before anything is measured
    assert "skipped: error: PyTorch is not installed" in done.stdout
    assert "limits: the faster of TensorFlow's and PyTorch's (where installed)" in done.stdout
    table = pd.read_csv(out / "benchmark.csv")
    assert set(table["framework"]) == {"keras-fcn", "tf-loop"}  # and no PyTorch
    keras_fcn = table[table["framework"] == "keras-fcn"]  # JAX adds a row where installed
    assert (keras_fcn["backend"] == "tensorflow").sum() == 3
    assert table["vs_pytorch"].isna().all()
    assert (table["gflops"] > 0).all() and (table["of_limit"] > 0).all()
    limits = pd.read_csv(out / "limits.csv")
    assert limits["model"].tolist() == ["lenet"] and limits["mflop_per_image"].iloc[0] == 2.499
    saved = json.loads((out / "benchmark.json").read_text())
    assert saved["cpu"]["cores"] == os.cpu_count() and saved["limits"]["lenet"]["rounds"] == 1
    assert list(saved["limits"]["lenet"]["by_library"]) == ["tensorflow"]  # no PyTorch here
    assert (out / "benchmark.md").exists() and (out / "limits.md").exists()
    profile = pd.read_csv(out / "profile.csv")  # TensorFlow's step in parts; PyTorch skipped
    assert profile[["model", "framework"]].values.tolist() == [["lenet", "tensorflow"]]
    assert profile["forward_ms"].iloc[0] > 0 and profile["total_ms"].iloc[0] > 0
    assert saved["profile"][0]["framework"] == "tensorflow"


def test_command_rejects_bad_arguments_in_one_line(tmp_path, capsys):
    from experiments import benchmark as command
    from experiments._cli import run_main

    for argv, message in [
        (["--models", "resnet"], "error: --models 'resnet': choose from dense, lenet\n"),
        (["--epochs", "1"], "error: --epochs 1: at least 2 (the first is warm-up)\n"),
        (["--repeats", "0"], "error: --repeats 0: at least 1\n"),
        (["--search", "-1"], "error: --search -1: must be 0 or more\n"),
    ]:
        with pytest.raises(SystemExit) as info:
            run_main(command.main, [*argv, "--out", str(tmp_path / "x")])
        assert info.value.code == 2
        assert capsys.readouterr().err == message
    assert not (tmp_path / "x").exists()


@pytest.mark.bench
def test_the_limit_times_pytorch_too_where_it_is_installed():
    network = DENSE.build(DENSE.config_cls(hidden=(16,)))
    measured = bench_limits.network_limits(network, 8, budget_s=0.05)
    assert list(measured["by_library"]) == ["tensorflow", "pytorch"]
    assert all(g > 0 for speeds in measured["by_library"].values() for g in speeds.values())
    faster = max(measured["by_library"].values(), key=lambda speeds: speeds["float32"])
    assert measured["gflops"]["float32"] == faster["float32"]


@pytest.mark.bench
def test_pytorch_lenet_is_the_same_network():
    from cnn.model import build_lenet5
    from experiments.bench import torch_reference as ref

    params = sum(p.numel() for p in ref.lenet5().parameters())
    assert params == build_lenet5().count_params() == 61_706
    dense = sum(p.numel() for p in ref.dense_network((512, 256)).parameters())
    assert dense == 535_818


@pytest.mark.bench
def test_pytorch_reference_learns_like_keras_fcn(fashion_small):
    torch_run = run_case(TORCH_64, DENSE, fashion_small, epochs=3, seed=42)
    keras_run = run_case(KERAS_64, DENSE, fashion_small, epochs=3, seed=42)
    assert len(torch_run.epoch_s[0]) == 3 and torch_run.framework == "pytorch"
    # same network, optimizer and data: both well above chance, within a few points
    assert torch_run.test_accuracy > 0.6
    assert abs(torch_run.test_accuracy - keras_run.test_accuracy) < 0.1


@pytest.mark.bench
def test_pytorch_autocast_computes_in_bfloat16_and_learns(fashion_small):
    import torch

    from experiments.bench import torch_reference as ref

    network = ref.dense_network((16,))
    with ref.compute(True):
        assert network(torch.zeros(2, 784)).dtype == torch.bfloat16
    assert network(torch.zeros(2, 784)).dtype == torch.float32
    autocast = Case("dense", "pytorch", {"batch_size": 64, "precision": "mixed_bfloat16"})
    bf16 = run_case(autocast, DENSE, fashion_small, epochs=3, seed=42)
    plain = run_case(TORCH_64, DENSE, fashion_small, epochs=3, seed=42)
    assert bf16.precision == "bfloat16" and bf16.variant == "bfloat16 autocast"
    assert abs(bf16.test_accuracy - plain.test_accuracy) <= 0.03


def test_the_one_network_search_builds_the_default_network_every_trial(fashion_small):
    space = one_network(DENSE)
    assert set(space.searched()) == {"optimizer", "learning_rate"}
    built = []
    family = dataclasses.replace(
        DENSE, build=lambda config: built.append(config) or DENSE.build(config)
    )
    trial_costs(family, DENSE.run_config(), fashion_small, trials=2, space=space)
    assert built and all(config == DENSE.run_config().model for config in built)


# about 60 s: every side of the search case on a subset, each in its own process
@pytest.mark.bench
def test_the_search_case_runs_every_search_to_a_tested_model(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "experiments.benchmark", "--models", "none", "--quick"]
    argv += ["--trials", "0", "--out", str(out)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(out / "search.csv")
    assert table["side"].tolist() == ["plain", "keras-fcn", "keras-fcn-bfloat16"]
    assert (table["search_s"] > 0).all() and (table["final_s"] > 0).all()
    assert (table["trials"] > 1).all() and (table["epochs"] >= table["trials"]).all()
    assert table["test_accuracy"].between(0.5, 1).all()  # a model that learned, tested once
    saved = json.loads((out / "benchmark.json").read_text())
    assert len(saved["search_processes"][1]["test_accuracy"]) == 3  # the final seeds


# about 25 s: three two-trial searches, the last in a process without oneDNN
def test_the_trials_run_again_in_a_process_without_onednn(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "experiments.benchmark", "--models", "none", "--quick"]
    argv += ["--trials", "2", "--search", "0", "--out", str(out)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(out / "trials.csv")
    spaces = ["dense space", "one network", "dense space, oneDNN off"]
    assert table.groupby("space", sort=False).size().to_dict() == dict.fromkeys(spaces, 2)
    assert (table["rss_mb"] > 0).all() and (table["fixed_cost_s"] > 0).all()
    assert "oneDNN kernels off (`TF_ENABLE_ONEDNN_OPTS=0`): fixed cost median" in done.stdout
