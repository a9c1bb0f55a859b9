"""The benchmark's arithmetic, without training: throughput and its median process, the
ratio to the PyTorch peer paired by round, GFLOP/s and the fraction of the limit, the
networks' FLOPs, the CPU flags, the timing of the limit, the order of the rounds and the
peak memory of a child process."""

from __future__ import annotations

import dataclasses
import json
import sys
import types

import numpy as np
import pandas as pd
import pytest

from cnn.family import LENET
from experiments import benchmark as command
from experiments.bench import limits, table
from experiments.bench.cases import CASES, find_case
from experiments.bench.measure import Measurement, run_case, steady_throughput
from keras_fcn import hardware
from keras_fcn.family import DENSE


def _measurement(model, framework, epoch_s, images=1000, precision="float32"):
    """A measurement with one process per list of epoch times in ``epoch_s``."""
    return Measurement(
        case=f"{model}/{framework}",
        model=model,
        framework=framework,
        variant="v",
        backend="",
        precision=precision,
        images=images,
        epoch_s=[list(times) for times in epoch_s],
        test_accuracy=0.5,
        peak_rss_mb=[100.0] * len(epoch_s),
        versions={},
    )


def test_steady_throughput_is_the_median_epoch_after_warm_up():
    # the 9 s first epoch (compilation) and the 3 s outlier do not count
    assert steady_throughput([[9.0, 1.0, 2.0, 3.0]], 1000) == 500.0
    assert steady_throughput([[4.0]], 1000) == 250.0
    # two processes: both warm-up epochs left out, the median of the four others
    assert steady_throughput([[9.0, 1.0, 4.0], [8.0, 1.0, 9.0]], 1000) == 400.0
    with pytest.raises(ValueError):
        steady_throughput([], 1000)


def test_merged_measurement_keeps_every_process_in_order():
    one = _measurement("dense", "keras-fcn", [[6.0, 1.0]])
    both = one.merge(dataclasses.replace(one, epoch_s=[[4.0, 2.0]], peak_rss_mb=[300.0]))
    assert both.first_epoch_s == 5.0
    assert both.process_images_per_s == [1000.0, 500.0]
    assert both.peak_rss_mb == [100.0, 300.0]
    three = both.merge(dataclasses.replace(one, epoch_s=[[4.0, 4.0]], peak_rss_mb=[50.0]))
    assert three.images_per_s == 500.0  # the median process
    assert table.comparison([three])["peak_rss_mb"].tolist() == [300]  # the highest


def test_ratio_to_pytorch_is_the_median_of_rounds_with_its_spread():
    # round 2 was a slow spell for both: paired by round, it does not move the ratio
    reference = _measurement("dense", "pytorch", [[5, 1.0], [5, 2.0], [5, 1.0]])
    ours = _measurement("dense", "keras-fcn", [[5, 1.25], [5, 2.0], [5, 1.0]])
    lenet = _measurement("lenet", "keras-fcn", [[5, 2.0, 2.0]])
    rows = table.comparison([reference, ours, lenet])
    assert rows["vs_pytorch"].tolist()[:2] == [1.0, 1.0]
    assert rows["vs_pytorch_low"].tolist()[:2] == [1.0, 0.8]
    assert rows["vs_pytorch_high"].tolist()[:2] == [1.0, 1.0]
    assert pd.isna(rows["vs_pytorch"].iloc[2])  # no lenet reference: no ratio
    assert rows["images_per_s"].tolist() == [1000, 800, 500]
    assert rows["processes"].tolist() == [3, 3, 1]
    assert rows["first_epoch_s"].tolist() == [5, 5, 5]
    assert rows["gflops"].isna().all()  # no limits measured: no GFLOP/s


def test_bfloat16_compute_is_compared_with_pytorch_autocast():
    measurements = [
        _measurement("dense", "pytorch", [[5, 1.0]]),
        _measurement("dense", "pytorch", [[5, 4.0]], precision="bfloat16"),
        _measurement("dense", "keras-fcn", [[5, 2.0]], precision="bfloat16"),
    ]
    assert table.peer(measurements[2], measurements) is measurements[1]
    assert table.comparison(measurements)["vs_pytorch"].tolist() == [1.0, 1.0, 2.0]
    # and every keras-fcn case has a PyTorch peer of its precision and batch size
    for case in CASES:
        if case.framework == "keras-fcn":
            batch = case.settings.get("batch_size")
            peers = [
                c
                for c in CASES
                if c.framework == "pytorch"
                and c.model == case.model
                and c.settings.get("batch_size") == batch
            ]
            assert case.precision in [c.precision for c in peers]
    autocast = find_case("dense/pytorch/bfloat16 autocast")
    assert autocast.settings == {"precision": "mixed_bfloat16"}


def test_a_small_batch_case_is_compared_with_pytorch_at_its_batch():
    measurements = [
        _measurement("dense", "pytorch", [[5, 1.0]]),
        _measurement("dense", "pytorch", [[5, 3.0]]),
        _measurement("dense", "keras-fcn", [[5, 2.0]]),
    ]
    measurements[1].batch_size = measurements[2].batch_size = 32
    assert table.peer(measurements[2], measurements) is measurements[1]
    assert table.comparison(measurements)["vs_pytorch"].tolist() == [1.0, 1.0, 1.5]


def test_each_pytorch_case_trains_in_its_own_precision_not_the_family_default(monkeypatch):
    # on a CPU with bfloat16 instructions the dense family's default (auto) is bfloat16: the
    # float32 reference loop must still train without autocast, its peer with it
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    autocast_used = []

    def train(*args, epochs, batch_size, autocast):
        autocast_used.append(autocast)
        return [1.0] * epochs, 0.5

    fake = types.SimpleNamespace(
        seed=lambda value: None,
        dense_network=lambda hidden: None,
        make_optimizer=lambda *args: None,
        train=train,
        versions=dict,
    )
    monkeypatch.setitem(sys.modules, "experiments.bench.torch_reference", fake)
    monkeypatch.setattr("experiments.bench.torch_reference", fake, raising=False)
    images = np.zeros((4, 784), dtype=np.float32)
    data = types.SimpleNamespace(
        x_train=images, y_train=np.zeros(4, int), x_test=images, y_test=np.zeros(4, int)
    )
    for name in ("dense/pytorch/reference loop", "dense/pytorch/bfloat16 autocast"):
        case = find_case(name)
        measured = run_case(case, DENSE, data, epochs=2, seed=1)
        assert measured.precision == case.precision
    assert autocast_used == [False, True]
    assert find_case("dense/keras-fcn/defaults").precision == "bfloat16"  # what made it likely


def _limit_round(float32, bfloat16):
    gflops = {"float32": float32, "bfloat16": bfloat16}
    return {"dense": {"batch": 512, "flops_per_image": 3e6, "shapes": [], "gflops": gflops}}


def test_gflops_and_fraction_of_the_limit_of_the_case_precision():
    summary = table.summarize_limits(
        [_limit_round(60.0, 10.0), _limit_round(30.0, 20.0), _limit_round(50.0, 15.0)]
    )
    assert summary["dense"]["float32"] == {"median": 50.0, "low": 30.0, "high": 60.0}
    assert summary["dense"]["rounds"] == 3
    measurements = [
        _measurement("dense", "keras-fcn", [[5, 0.1]]),  # 10,000 images/s
        _measurement("dense", "keras-fcn", [[5, 0.2]], precision="bfloat16"),
    ]
    rows = table.comparison(measurements, summary)
    assert rows["gflops"].tolist() == [30.0, 15.0]  # 3 MFLOP per image x images/s
    assert rows["of_limit"].tolist() == [0.6, 1.0]  # of 50 (float32) and of 15 (bfloat16)
    limits_rows = table.limits_table(summary)
    assert limits_rows.iloc[0]["faster"] == "float32"
    assert limits_rows.iloc[0]["mflop_per_image"] == 3.0
    line = table.describe_limit("dense", summary["dense"])
    assert "float32 50.0 GFLOP/s (30.0-60.0)" in line and "float32 3.3x faster" in line


def test_training_flops_per_image_count_both_networks_layers():
    # dense 784-512-256-10: 535,040 weights (biases left out), 6 FLOPs each per image
    dense = DENSE.build(DENSE.config_cls())
    assert limits.gemm_shapes(dense, 512) == [(512, 784, 512), (512, 512, 256), (512, 256, 10)]
    assert limits.flops_per_image(dense, 512) == 6 * 535_040
    # LeNet-5: each conv as its im2col product: 28x28 positions x 5x5x1 -> 6, 10x10 x
    # 5x5x6 -> 16, 1x1 x 5x5x16 -> 120; then 120 -> 84 -> 10
    lenet = LENET.build(LENET.config_cls())
    assert limits.gemm_shapes(lenet, 1) == [
        (784, 25, 6),
        (100, 150, 16),
        (1, 400, 120),
        (1, 120, 84),
        (1, 84, 10),
    ]
    macs = 784 * 25 * 6 + 100 * 150 * 16 + 400 * 120 + 120 * 84 + 84 * 10
    assert limits.flops_per_image(lenet, 32) == 6 * macs == 6 * 416_520


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: fpu sse4_2 avx avx2 fma\n\n"
        "processor\t: 1\nmodel name\t: Some CPU 9000\nflags\t\t: fpu sse4_2 avx avx2 fma\n"
    )
    cpu = limits.cpu_flags(info)
    assert cpu["model"] == "Some CPU 9000" and cpu["read"]
    assert cpu["present"] == ["sse4_2", "avx", "avx2", "fma"]
    assert {"avx512f", "avx512_bf16", "amx_bf16"} <= set(cpu["absent"])
    line = table.describe_cpu(cpu, 2)
    assert line.startswith("CPU: Some CPU 9000, 2 cores; flags: sse4_2 avx avx2 fma; absent:")
    assert not limits.cpu_flags(tmp_path / "missing")["read"]


def test_best_seconds_is_the_fastest_timing_per_call(monkeypatch):
    now, step, calls = [0.0], [0.01], []
    monkeypatch.setattr(limits.time, "perf_counter", lambda: now[0])

    def call():
        now[0] += step[0]
        calls.append(1)
        if len(calls) == 2 + 2 * 10:  # after two timings the machine gets twice as fast
            step[0] = 0.005

    # one untimed call, one to size the timings, then 5 timings of 10 calls of 10 ms
    assert limits.best_seconds(call, budget_s=0.5, timings=5) == pytest.approx(0.005)
    assert len(calls) == 2 + 5 * 10


def test_the_limit_times_the_network_shapes_in_both_dtypes():
    network = DENSE.build(DENSE.config_cls(hidden=(16,)))
    measured = limits.network_limits(network, 8, budget_s=0.05, libraries=["tensorflow"])
    assert measured["shapes"] == [[8, 784, 16], [8, 16, 10]]
    assert measured["flops_per_image"] == 6 * (784 * 16 + 16 * 10)
    assert set(measured["gflops"]) == {"float32", "bfloat16"}
    assert all(g > 0 for g in measured["gflops"].values())
    assert measured["by_library"] == {"tensorflow": measured["gflops"]}


def test_the_limit_is_the_faster_library_in_each_dtype(monkeypatch):
    # TensorFlow faster in bfloat16, PyTorch in float32: the limit takes each dtype's best
    speeds = {"tensorflow": {"float32": 200.0, "bfloat16": 900.0}}
    speeds["pytorch"] = {"float32": 280.0, "bfloat16": 600.0}
    for library in limits.LIBRARIES:
        monkeypatch.setitem(
            limits.TIMERS, library, lambda shapes, dtype, budget_s, lib=library: speeds[lib][dtype]
        )
    network = DENSE.build(DENSE.config_cls(hidden=(16,)))
    measured = limits.network_limits(network, 8, libraries=list(limits.LIBRARIES))
    assert measured["gflops"] == {"float32": 280.0, "bfloat16": 900.0}
    summary = table.summarize_limits([{"dense": measured}, {"dense": measured}])
    assert summary["dense"]["by_library"] == speeds
    row = table.limits_table(summary).iloc[0]
    assert (row["float32_gflops"], row["float32_tensorflow"], row["float32_pytorch"]) == (
        280.0,
        200.0,
        280.0,
    )
    line = table.describe_limit("dense", summary["dense"])
    assert line.endswith("by library: tensorflow 200.0 / 900.0, pytorch 280.0 / 600.0")
    # a run whose rounds timed one library only (or older runs) shows no library columns
    one = table.summarize_limits([_limit_round(60.0, 10.0)])
    assert "float32_tensorflow" not in table.limits_table(one)


def test_rounds_interleave_every_case_and_turn_their_order(monkeypatch):
    items = command.plan(["lenet"], [None, "jax"])
    assert items[0] == (command.LIMITS, None)
    names = [command.label(case, backend) for case, backend in items]
    assert "lenet/keras-fcn/defaults (KERAS_BACKEND=jax)" in names
    assert command.round_order([1, 2, 3], 1) == [1, 2, 3]
    assert command.round_order([1, 2, 3], 2) == [2, 3, 1]
    assert command.round_order([1, 2, 3], 4) == [1, 2, 3]

    ran = []

    def fake(args, case, backend):
        ran.append(command.label(case, backend))
        if case == command.LIMITS:
            return _limit_round(50.0, 10.0), ""
        if case.framework == "pytorch":
            return None, "error: PyTorch is not installed"
        times = [[5.0, 1.0 + len(ran) / 100]]
        return _measurement(case.model, case.framework, times), ""

    monkeypatch.setattr(command, "_run_item", fake)
    results, limit_rounds, skipped = command.measure_rounds(None, items, 3)
    assert len(limit_rounds) == 3
    assert list(skipped) == ["lenet/pytorch/reference loop"]  # tried once, then left out
    assert ran.count("lenet/pytorch/reference loop") == 1
    assert all(len(m.epoch_s) == 3 for m in results.values())  # one process per round
    # each round starts one item later (round 2 at the skipped reference, round 3 past it)
    assert ran[: len(names)] == names
    assert ran[len(names) :] == 2 * [*names[2:], names[0]]


def test_profile_parts_are_what_each_adds_to_the_step_before_it():
    from experiments.bench.profile import increments, profile_table

    cumulative = {"batch": 0.001, "forward": 0.003, "backward": 0.007, "optimizer": 0.008}
    own = increments({**cumulative, "loop": 0.010})
    assert own == pytest.approx(
        {
            "batch": 0.001,
            "forward": 0.002,
            "backward": 0.004,
            "optimizer": 0.001,
            "loop": 0.002,
            "total": 0.010,
        }
    )
    slower = {k: 2 * v for k, v in cumulative.items()}
    rounds = [
        {"model": "lenet", "framework": "pytorch", "times": t}
        for t in (cumulative, slower, cumulative)
    ]
    rows = profile_table(rounds).to_dict(orient="records")
    assert len(rows) == 1 and rows[0]["processes"] == 3
    assert rows[0]["backward_ms"] == pytest.approx(4.0) and rows[0]["total_ms"] == pytest.approx(
        8.0
    )
    assert rows[0]["loop_ms"] is None  # PyTorch has no keras-fcn loop


def test_time_per_call_is_the_median_block_after_a_warm_up_block():
    from experiments.bench.profile import time_per_call

    calls = []
    seconds = time_per_call(calls.append, block=5, budget_s=0.0)
    assert len(calls) == 5 * 4 and calls[:5] == list(range(5))  # warm-up, then 3 timed blocks
    assert 0 < seconds < 0.01


def test_the_recorded_command_names_no_folder_of_the_machine():
    argv = ["--trials", "30", "--out", "/somewhere/bench", "--data-dir=/data", "--quick"]
    assert command.recorded_command(argv) == "python -m experiments.benchmark --trials 30 --quick"
    assert command.recorded_command([]) == "python -m experiments.benchmark"


def test_the_search_case_alternates_sides_and_pairs_them_by_round():
    from experiments.bench.search_case import measure_search_case, search_table

    order = []
    seconds = {"plain": iter([300.0, 330.0]), "keras-fcn": iter([100.0, 100.0])}
    seconds["keras-fcn-bfloat16"] = iter([60.0, 50.0])

    def run(side):
        order.append(side)
        found = {"search_s": next(seconds[side]), "final_s": 20.0, "trials": 30, "epochs": 120}
        return {"side": side, **found, "test_accuracy": [0.88]}, ""

    found, skipped = measure_search_case(run, 2, log=lambda line: None)
    other = "keras-fcn-bfloat16"
    assert order == ["plain", "keras-fcn", other, "keras-fcn", other, "plain"] and not skipped
    table = search_table(found).set_index("side")
    assert table.loc["keras-fcn", "search_speedup"] == 3.15  # median of 3.0 and 3.3
    assert table.loc["keras-fcn", "speedup_range"] == "3.00-3.30"
    assert table.loc["plain", "search_s"] == 315.0
    assert table.loc[other, "search_speedup"] == 5.8  # median of 5.0 and 6.6


def test_a_failing_side_of_the_search_case_is_skipped_with_its_reason():
    from experiments.bench.search_case import measure_search_case, search_table

    def run(side):
        if side == "plain":
            return None, "error: no copy of fashion_mnist found"
        return {"side": side, "search_s": 9.0, "final_s": 1.0, "trials": 3, "epochs": 6,
                "test_accuracy": [0.8, 0.9]}, ""  # fmt: skip

    found, skipped = measure_search_case(run, 2, log=lambda line: None)
    assert skipped == {"plain": "error: no copy of fashion_mnist found"} and len(found) == 4
    table = search_table(found)
    assert table["side"].tolist() == ["keras-fcn", "keras-fcn-bfloat16"]
    assert table["search_speedup"].isna().all()
    assert round(table["test_accuracy"][0], 6) == 0.85


def test_a_new_run_sets_an_earlier_runs_files_aside(tmp_path):
    from experiments.bench.runs import set_aside

    assert set_aside(tmp_path) is None  # nothing run here yet
    (tmp_path / "benchmark.json").write_text(json.dumps({"created": "2026-12-07T16:28:00+00:00"}))
    for name in ("benchmark.csv", "search.csv", "search.md", "notes.txt"):
        (tmp_path / name).write_text(name)
    earlier = set_aside(tmp_path)
    assert earlier == tmp_path / "earlier-20261207162800"
    assert sorted(p.name for p in earlier.iterdir()) == [
        "benchmark.csv",
        "benchmark.json",
        "search.csv",
        "search.md",
    ]
    # what is not a run's file stays; a run measuring only the trials shows no old search
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["notes.txt"]
    assert set_aside(tmp_path) is None
