"""docs/speed.md from committed benchmark runs and run records, on synthetic ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from experiments.bench import compared, page
from experiments.bench import runs as committed
from keras_fcn.family import DENSE
from keras_fcn.record import RunRecord, encode_predictions, write_json

Y = np.arange(100) % 10


def _record(seed: int, precision: str, computed: str, wrong: int, **settings) -> RunRecord:
    run = DENSE.run_config({"seed": seed, "precision": precision, **settings})
    predictions = Y.copy()
    predictions[:wrong] = (Y[:wrong] + 1) % 10
    return RunRecord(
        run.run_id,
        "dense",
        run.to_dict(),
        seed,
        test_accuracy=float(np.mean(predictions == Y)),
        test_predictions=encode_predictions(predictions),
        precision=computed,
        command=DENSE.command_for(run),
    )


def test_runs_of_one_config_in_both_precisions_are_paired_and_compared():
    bf16 = "mixed_bfloat16 (auto: the CPU has avx512_bf16)"
    records = [
        *[_record(s, "float32", "float32", 10) for s in (1, 2, 3)],
        *[_record(s, "auto", bf16, 10 + s) for s in (1, 2, 3)],
        _record(1, "float32", "float32", 5, learning_rate=0.1),  # no bfloat16 twin
        _record(1, "auto", bf16, 5, train_limit=500),  # part of the data
    ]
    pairs = compared.setting_pairs(records)
    assert [(len(f32), len(bf)) for f32, bf in pairs] == [(3, 3)]
    text = "\n".join(compared.comparison_section(records, lambda record: Y))
    assert "| float32 / bfloat16 |" in text
    assert "90.00, 90.00, 90.00" in text and "89.00, 88.00, 87.00" in text
    assert "+2.00" in text  # float32 better by 2 points on average
    row = text.split("| float32 / bfloat16 |")[1]
    assert "--seed" not in row and "--set precision" not in row
    assert compared.setting_pairs(records, "loop") == []  # every run here used one loop


def test_runs_of_one_config_with_both_loops_are_paired_records_before_the_field_as_fit():
    records = [
        *[_record(s, "float32", "float32", 10, loop="epoch") for s in (1, 2)],
        *[_record(s, "float32", "float32", 12, loop="fit") for s in (1,)],
        _record(2, "float32", "float32", 14, loop="fit"),
    ]
    written = records[-1].to_dict()
    del written["schema"], written["config"]["train"]["loop"]  # made before loop was a setting
    records[-1] = RunRecord.from_dict(written)
    [(fit, epoch)] = compared.setting_pairs(records, "loop")
    assert [r.seed for r in fit] == [1, 2] and [r.seed for r in epoch] == [1, 2]
    text = "\n".join(compared.comparison_section(records, lambda record: Y))
    row = text.split("| fit / epoch |")[1]
    assert "| -3.00 |" in row and "--set loop" not in row


def test_without_a_pair_the_section_says_how_to_make_one():
    text = "\n".join(
        compared.comparison_section([_record(1, "float32", "float32", 5)], lambda r: Y)
    )
    assert "No config has full-data runs with both values of a setting yet." in text


def _benchmark_results(root, created="2026-01-02T03:04:05+00:00", model="dense", trials=True):
    folder = root / "benchmark"
    folder.mkdir(parents=True)
    cases = pd.DataFrame(
        [
            [model, "pytorch", "", "float32", "reference loop", 100.0, 1.0, 1.0, 1.0],
            [model, "keras-fcn", "tensorflow", "float32", "defaults", 120.0, 1.2, 1.1, 1.3],
        ],
        columns=[
            "model",
            "framework",
            "backend",
            "precision",
            "variant",
            "images_per_s",
            "vs_pytorch",
            "vs_pytorch_low",
            "vs_pytorch_high",
        ],
    )
    cases.to_csv(folder / "benchmark.csv", index=False)
    if trials:
        pd.DataFrame(
            {
                "fixed_cost_s": [0.9, 1.1, 0.8],
                "before_s": [0.3, 0.1, 0.2],
                "rss_mb": [900, 910, 930],
            }
        ).to_csv(folder / "trials.csv", index=False)
    cpu = {"model": "Some CPU", "present": ["avx2", "fma"], "absent": [], "read": True, "cores": 2}
    command = f"python -m experiments.benchmark --models {model}"
    write_json(folder / "benchmark.json", {"command": command, "created": created, "cpu": cpu})


def test_a_saved_benchmark_run_is_shown_with_its_targets(tmp_path):
    _benchmark_results(tmp_path / "results")
    archive = tmp_path / "records"
    [saved] = committed.save_runs(tmp_path / "results", archive)
    assert saved.name == "2026-01-02-0304-benchmark-some-cpu"
    assert committed.save_runs(tmp_path / "results", archive) == []  # already there
    assert json.loads((saved / committed.RUN_FILE).read_text())["cpu"]["model"] == "Some CPU"
    text = page.speed_page(archive, [], lambda r: Y)
    assert "## 2026-01-02: Some CPU, 2 cores" in text
    assert "`python -m experiments.benchmark --models dense`" in text and "`avx2 fma`" in text
    assert "- dense, defaults (float32): **1.20x** PyTorch (rounds 1.1-1.3)" in text
    assert "median **0.90 s**" in text and "(+30 MB)" in text
    assert "KerasTuner's bookkeeping before it median 0.20 s" in text


def test_the_readme_shows_each_models_latest_benchmark_run_and_the_precision_table(tmp_path):
    archive = tmp_path / "records"
    assert page.readme_block(archive, [], lambda r: Y).startswith("No benchmark run committed")
    runs = [
        ("2026-01-02T00:00:00+00:00", "lenet", True),  # superseded by both later runs
        ("2026-03-04T00:00:00+00:00", "dense", True),
        ("2026-04-05T00:00:00+00:00", "lenet", False),  # the latest, lenet alone, no trials
    ]
    for created, model, trials in runs:
        results = tmp_path / created[:10]
        _benchmark_results(results, created, model, trials)
        committed.save_runs(results, archive)
    jobs = archive / committed.FOLDER / "2026-05-06-jobs"  # newer, but not a benchmark run
    jobs.mkdir()
    write_json(jobs / committed.RUN_FILE, {"command": "jobs", "created": "2026-05-06", "cpu": {}})
    bf16 = "mixed_bfloat16 (auto: the CPU has avx512_bf16)"
    records = [
        *[_record(s, "float32", "float32", 10) for s in (1, 2)],
        *[_record(s, "auto", bf16, 12) for s in (1, 2)],
    ]
    text = page.readme_block(archive, records, lambda r: Y)
    lenet, dense = text.split("\n\nPrinted by ")[:2]
    assert lenet.startswith(
        "Printed by `python -m experiments.benchmark --models lenet` on 2026-04-05"
    )
    assert "on 2026-04-05, Some CPU (avx2), 2 cores:" in lenet and "Tuning trials" not in lenet
    assert "- lenet, defaults (float32): **1.20x** PyTorch (rounds 1.1-1.3)" in lenet
    assert dense.startswith(
        "`python -m experiments.benchmark --models dense` on 2026-03-04, the same CPU:"
    )  # the CPU is described once while it stays the same
    assert "- dense, defaults (float32): **1.20x** PyTorch" in dense and "(+30 MB)" in dense
    assert "2026-01-02" not in text
    # the paired comparison is on the speed page; the README links to it
    assert "[docs/speed.md](docs/speed.md#float32-against-bfloat16-fit-against-the-" in text
    assert "| 90.00, 90.00 " in page.speed_page(archive, records, lambda r: Y)


def test_the_fraction_of_the_limit_and_the_float32_ratio_follow_the_peer_ratio():
    cases = pd.DataFrame(
        {
            "model": ["lenet", "dense", "dense", "dense"],
            "framework": ["keras-fcn", "pytorch", "pytorch", "keras-fcn"],
            "backend": ["tensorflow", "", "", "tensorflow"],
            "precision": ["float32", "float32", "bfloat16", "bfloat16"],
            "variant": ["defaults", "reference loop", "bfloat16 autocast", "defaults"],
            "images_per_s": [50.0, 100.0, 300.0, 240.0],
            "vs_pytorch": [0.8, 1.0, 1.0, 0.75],
            "of_limit": [0.4567, 0.3, 0.9, 0.7],
        }
    )
    assert page.target_lines(cases) == [
        "- lenet, defaults (float32): **0.80x** PyTorch; 46 % of the float32 limit",
        "- dense, defaults (bfloat16): **0.75x** PyTorch with bfloat16 autocast, 2.40x PyTorch "
        "in float32 (median processes); 70 % of the bfloat16 limit",
    ]


def test_the_trials_memory_is_also_given_after_the_warm_up():
    trials = pd.DataFrame(
        {"fixed_cost_s": [1.0] * 8, "rss_mb": [900, 950, 990, 1000, 1000, 1001, 1002, 1004]}
    )
    line = page.trials_line(trials)
    assert "900 MB after the first, 1,000 MB after the fifth, 1,004 MB after the last" in line
    assert "(+104 MB; +4 MB from the fifth)" in line and "before it" not in line


def test_the_one_network_search_adds_its_memory_growth_to_the_trials_line():
    trials = pd.DataFrame(
        {
            "fixed_cost_s": [1.0, 0.8, 0.9, 0.5, 0.6],
            "second_epoch_s": [0.1] * 5,
            "rss_mb": [900, 1100, 1300, 1000, 1004],
            "space": ["dense space"] * 3 + ["one network"] * 2,
        }
    )
    line = page.trials_line(trials)
    assert line.startswith("- Tuning trials (3, two epochs each") and "**0.90 s**" in line
    assert "(+400 MB)" in line and "over 2 trials of one network" in line
    assert line.endswith(": +4 MB from the first to the last.")


def test_the_dense_space_without_onednn_adds_its_cost_and_memory_to_the_trials_line():
    rss = [900, 1100, 1300, 1300, 1300, 1310, 1320, 1000, 1004] + list(range(800, 870, 10))
    trials = pd.DataFrame(
        {
            "fixed_cost_s": [1.0] * 9 + [0.4] * 7,
            "rss_mb": rss,
            "space": ["dense space"] * 7 + ["one network"] * 2 + ["dense space, oneDNN off"] * 7,
        }
    )
    line = page.trials_line(trials)
    assert "1,320 MB after the last (+420 MB; +20 MB from the fifth)" in line
    assert "over 2 trials of one network" in line and ": +4 MB from the first to the last;" in line
    off = line[line.index("oneDNN kernels off") :]
    assert off.endswith("fixed cost median 0.40 s, +60 MB; +20 MB from the fifth.")


def test_the_page_shows_the_latest_run_per_cpu_and_lists_the_runs_it_supersedes(tmp_path):
    runs = [  # (created, model, trials)
        ("2026-01-02T00:00:00+00:00", "dense", True),  # measured again by both later runs
        ("2026-02-03T00:00:00+00:00", "lenet", True),  # the latest lenet case
        ("2026-03-04T00:00:00+00:00", "dense", True),
    ]
    for created, model, trials in runs:
        results = tmp_path / created[:10]
        _benchmark_results(results, created, model=model, trials=trials)
        committed.save_runs(results, tmp_path / "records")
    current, older = committed.current_runs(tmp_path / "records")
    assert [p.name[:10] for p in current] == ["2026-03-04", "2026-02-03"]
    assert [p.name[:10] for p in older] == ["2026-01-02"]
    text = page.speed_page(tmp_path / "records", [], lambda r: Y)
    assert text.count("\n## Some CPU (avx2), 2 cores\n") == 1
    assert text.index("### 2026-03-04") < text.index("### 2026-02-03")
    assert "### 2026-01-02" not in text
    earlier = text[text.index("## Earlier runs") :]
    assert "- `2026-01-02-0000-benchmark-some-cpu`: `python -m experiments.benchmark" in earlier


def test_a_jobs_run_is_saved_and_shown_beside_the_benchmark_run(tmp_path):
    results = tmp_path / "results"
    _benchmark_results(results)
    jobs = results / "benchmark" / "jobs"
    jobs.mkdir()
    row = {"case": "dense-64", "engine": "--jobs 2", "runs/hour": 390.0, "speed-up": 1.18}
    pd.DataFrame([row]).to_csv(jobs / "jobs.csv", index=False)
    cpu = {"model": "Some CPU", "present": [], "absent": [], "read": True, "cores": 2}
    meta = {"command": "python -m experiments.bench.jobs", "created": "2026-01-03", "cpu": cpu}
    write_json(jobs / "jobs.json", meta)
    saved = committed.save_runs(results, tmp_path / "records")
    assert [p.name for p in saved] == [
        "2026-01-02-0304-benchmark-some-cpu",
        "2026-01-03-jobs-some-cpu",
    ]
    text = page.speed_page(tmp_path / "records", [], lambda r: Y)
    assert "`python -m experiments.bench.jobs`" in text and "| dense-64 " in text
    assert text.index("## 2026-01-03") < text.index("## 2026-01-02")


def test_precisions_are_compared_on_the_single_run_commands_records_only(tmp_path):
    from keras_fcn.record import RunStore

    RunStore(tmp_path / "fashion_dense" / "runs.jsonl").append(_record(1, "float32", "float32", 5))
    RunStore(tmp_path / "reproduce" / "s" / "runs.jsonl").append(_record(2, "auto", "float32", 5))
    assert [r.seed for r in compared.single_runs(tmp_path)] == [1]


def test_a_run_without_pytorch_says_so_instead_of_a_ratio():
    cases = pd.DataFrame(
        {
            "model": ["dense"],
            "framework": ["keras-fcn"],
            "backend": ["tensorflow"],
            "variant": ["defaults"],
            "vs_pytorch": [""],
        }
    )
    assert page.target_lines(cases) == [
        "- No PyTorch peer of the default cases in this run: no ratio to PyTorch."
    ]


def test_bench_jobs_leaves_a_run_that_report_can_commit(tmp_path, monkeypatch):
    from experiments.bench import jobs

    def measured(case, engines, rounds, out):  # no training: the bookkeeping only
        return {label: [10.0, 12.0] for label in engines}, {label: 4 for label in engines}

    monkeypatch.setattr(jobs, "measure_case", measured)
    out = tmp_path / "results" / "benchmark" / "jobs"
    assert jobs.main(["--out", str(out), "--case", jobs.CASES[0].name]) == 0
    [saved] = committed.save_runs(tmp_path / "results", tmp_path / "records")
    run = json.loads((saved / committed.RUN_FILE).read_text())
    assert run["command"].startswith("python -m experiments.bench.jobs --out ")
    assert run["cpu"]["cores"] >= 1 and (saved / "jobs.csv").exists()
    assert f"| {jobs.CASES[0].name} " in page.speed_page(tmp_path / "records", [], lambda r: Y)


def test_a_runs_step_profile_is_on_the_speed_page_and_in_one_line_in_the_readme(tmp_path):
    from experiments.bench.profile import profile_table

    results = tmp_path / "results"
    _benchmark_results(results, model="lenet", trials=False)
    steps = {
        "tensorflow": {
            "batch": 0.0002,
            "forward": 0.0012,
            "backward": 0.0032,
            "optimizer": 0.004,
            "loop": 0.005,
        },
        "pytorch": {"batch": 0.0001, "forward": 0.0009, "backward": 0.0024, "optimizer": 0.0028},
    }
    rounds = [{"model": "lenet", "framework": f, "times": t} for f, t in steps.items()]
    profile_table(rounds).to_csv(results / "benchmark" / "profile.csv", index=False)
    archive = tmp_path / "records"
    [saved] = committed.save_runs(results, archive)
    assert (saved / "profile.csv").exists()
    assert "| lenet   | tensorflow  |" in page.speed_page(archive, [], lambda r: Y)
    assert (
        "- lenet, one step in ms (TensorFlow / PyTorch): batch 0.20 / 0.10, forward 1.00 / 0.80, "
        "backward 2.00 / 1.50, optimizer 0.80 / 0.40; the training loop's own work 1.00; whole step "
        "5.00 / 2.80"
    ) in page.readme_block(archive, [], lambda r: Y)


def test_a_loop_cheaper_than_a_step_called_alone_says_so():
    from experiments.bench.profile import profile_table

    steps = {  # the loop's step (3.5 ms) below the step called once per batch (4 ms)
        "tensorflow": {"batch": 0.0002, "forward": 0.001, "backward": 0.003, "optimizer": 0.004},
        "pytorch": {"batch": 0.0001, "forward": 0.0009, "backward": 0.0024, "optimizer": 0.0028},
    }
    steps["tensorflow"]["loop"] = 0.0035
    rounds = [{"model": "dense", "framework": f, "times": t} for f, t in steps.items()]
    [line] = page.profile_lines(profile_table(rounds), ["dense"])
    assert "the training loop's own work -0.50 (negative: cheaper inside the loop)" in line
    assert line.endswith("whole step 3.50 / 2.80")


def test_a_later_run_of_some_cases_keeps_the_other_cases_of_an_earlier_run(tmp_path):
    archive = tmp_path / "records"
    _benchmark_results(tmp_path / "full", "2026-01-02T00:00:00+00:00", "dense", True)
    committed.save_runs(tmp_path / "full", archive)
    # a later run of the small-batch cases alone, and of the search case
    later = tmp_path / "later" / "benchmark"
    _benchmark_results(tmp_path / "later", "2026-02-03T00:00:00+00:00", "dense", False)
    cases = pd.read_csv(later / "benchmark.csv")
    cases["variant"] = ["reference loop batch_size=32", "batch_size=32"]
    cases.assign(batch_size=32).to_csv(later / "benchmark.csv", index=False)
    pd.DataFrame(
        [
            ["plain", 2, 400.0, "390-410", 90.0, 30, 120, 0.87, 0.0, 1.0, "1.00-1.00"],
            ["keras-fcn", 2, 130.0, "120-140", 30.0, 30, 120, 0.88, 0.002, 3.08, "2.9-3.2"],
        ],
        columns=["side", "processes", "search_s", "search_s_range", "final_s", "trials"]
        + ["epochs", "test_accuracy", "test_accuracy_std", "search_speedup", "speedup_range"],
    ).to_csv(later / "search.csv", index=False)
    committed.save_runs(tmp_path / "later", archive)
    text = page.readme_block(archive, [], lambda r: Y)
    newest, older = text.split("\n\nPrinted by ")[:2]
    assert "- dense, batch_size=32 (float32): **1.20x** PyTorch" in newest
    assert "- dense, defaults (float32)" in older and "Tuning trials" in older
    assert (
        "- The search case (30 trials of KerasTuner's introductory search): plain KerasTuner "
        "400 s, test 87.00 %; keras-fcn 130 s, **3.08x** (rounds 2.9-3.2), test 88.00 %."
    ) in newest
    speed = page.speed_page(archive, [], lambda r: Y)
    assert "| keras-fcn |" in speed and "the plain search's time over each side's" in speed
