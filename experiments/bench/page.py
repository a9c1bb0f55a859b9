"""``docs/speed.md``, written by ``python -m experiments.report --docs`` from what is committed:
the benchmark runs under ``docs/records/benchmark/`` (:mod:`experiments.bench.runs`) and the
run records that compare precisions and training loops on full data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.bench.compared import comparison_section, comparison_table
from experiments.bench.runs import (
    FOLDER,
    RUN_FILE,
    cases_of,
    committed_runs,
    current_runs,
    machine_of,
    target_rows,
)
from experiments.bench.trials import ONE_NETWORK_SPACE, ONEDNN_OFF
from keras_fcn import layout
from keras_fcn.record import RunRecord

SPEED_PAGE = "speed.md"
METHOD_PAGE = "benchmark.md"
"""The hand-written page that says how the benchmark measures (no figures)."""


def run_section(folder: Path) -> list[str]:
    """One committed benchmark run: its command, CPU, limits, table, targets and trials."""
    run = json.loads((folder / RUN_FILE).read_text())
    cpu = run["cpu"]
    flags = " ".join(cpu.get("present", [])) or "none of those looked for"
    model = cpu.get("model") or "CPU model not recorded"
    lines = [
        f"### {run['created'][:10]}: {model}, {cpu.get('cores', '?')} cores",
        "",
        f"Printed by `{run['command']}`. CPU flags: `{flags}`.",
        *([f"{run['note']}"] if run.get("note") else []),
        "",
    ]
    if (folder / "limits.csv").exists():
        lines += ["The machine's limit in the same run:", "", _markdown(folder / "limits.csv"), ""]
    if (folder / "benchmark.csv").exists():
        cases = pd.read_csv(folder / "benchmark.csv", keep_default_na=False)
        lines += [cases.to_markdown(index=False), "", *target_lines(cases)]
    if (folder / "jobs.csv").exists():
        lines += [
            "Several runs at once (`speed-up`: in-process seconds over the engine's, median of",
            "the rounds, with the lowest and highest round):",
            "",
            _markdown(folder / "jobs.csv"),
        ]
    if (folder / "profile.csv").exists():
        lines += [
            "",
            "One training step in parts (`experiments.bench.profile`: ms per step, median of",
            "the processes; each part is what it adds to the parts before it):",
            "",
            _markdown(folder / "profile.csv"),
            "",
        ]
    if (folder / layout.TRIALS).exists():
        lines += [trials_line(pd.read_csv(folder / layout.TRIALS))]
    if (folder / "search.csv").exists():
        lines += [
            "",
            "The search case (`experiments.bench.search_case`: KerasTuner's introductory search",
            "written plainly against `experiments.tune`; seconds are medians of the processes,",
            "`search_speedup` the plain search's time over each side's, paired by round):",
            "",
            _markdown(folder / "search.csv"),
            "",
            search_line(pd.read_csv(folder / "search.csv")),
        ]
    return [*lines, ""]


def search_line(search: pd.DataFrame) -> str:
    """The search case in one line: each ``experiments.tune`` side against the plain one."""
    table = search.set_index("side")
    if "plain" not in table.index:
        return "- The search case: the plain search did not run; no ratio."
    plain = table.loc["plain"]
    parts = [
        f"{side} {row['search_s']:.0f} s, **{row['search_speedup']:.2f}x** "
        f"(rounds {row['speedup_range']}), test {100 * row['test_accuracy']:.2f} %"
        for side, row in table.drop(index="plain").iterrows()
    ]
    return (
        f"- The search case ({plain['trials']:.0f} trials of KerasTuner's introductory search): "
        f"plain KerasTuner {plain['search_s']:.0f} s, test {100 * plain['test_accuracy']:.2f} %; "
        + "; ".join(parts)
        + "."
    )


def profile_lines(profile: pd.DataFrame, models: Iterable[str]) -> list[str]:
    """For each of ``models`` profiled in both frameworks: where a step's time goes, in one
    line (TensorFlow's part / PyTorch's, ms per step)."""
    lines = []
    for model in models:
        rows = {r["framework"]: r for _, r in profile[profile["model"] == model].iterrows()}
        if {"tensorflow", "pytorch"} - set(rows):
            continue
        tf, torch = rows["tensorflow"], rows["pytorch"]
        parts = ", ".join(
            f"{part} {float(tf[f'{part}_ms']):.2f} / {float(torch[f'{part}_ms']):.2f}"
            for part in ("batch", "forward", "backward", "optimizer")
        )
        # runs before the epoch loop timed Keras's fit as the loop
        loop = "the training loop's own work" if "loop_ms" in tf else "`fit`'s own work"
        loop_ms = float(tf["loop_ms"] if "loop_ms" in tf else tf["fit_ms"])
        if loop_ms < 0:  # the parts are each called once per batch; the loop is not
            loop_ms_text = f"{loop_ms:.2f} (negative: cheaper inside the loop)"
        else:
            loop_ms_text = f"{loop_ms:.2f}"
        lines.append(
            f"- {model}, one step in ms (TensorFlow / PyTorch): {parts}; {loop} "
            f"{loop_ms_text}; whole step {float(tf['total_ms']):.2f} / "
            f"{float(torch['total_ms']):.2f}"
        )
    return lines


def target_lines(cases: pd.DataFrame) -> list[str]:
    """The speed targets, read from a run's table: each keras-fcn TensorFlow case that
    trains a default network in float32 or bfloat16, against its PyTorch peer."""
    if "vs_pytorch" not in cases:
        return ["- No PyTorch case in this run: no ratio to PyTorch."]
    rows = target_rows(cases)
    if rows.empty:
        return ["- No PyTorch peer of the default cases in this run: no ratio to PyTorch."]
    lines = []
    for _, row in rows.iterrows():
        precision = row.get("precision", "") or "float32"
        peer = "PyTorch with bfloat16 autocast" if precision == "bfloat16" else "PyTorch"
        spread = ""
        if "vs_pytorch_low" in row and row["vs_pytorch_low"] != "":
            spread = f" (rounds {row['vs_pytorch_low']}-{row['vs_pytorch_high']})"
        if precision == "bfloat16":  # and against PyTorch as it runs by default
            spread += _float32_ratio(cases, row)
        limit = ""
        if "of_limit" in row and row["of_limit"] != "":
            limit = f"; {100 * float(row['of_limit']):.0f} % of the {precision} limit"
        lines.append(
            f"- {row['model']}, {row['variant']} ({precision}): **{float(row['vs_pytorch']):.2f}x** "
            f"{peer}{spread}{limit}"
        )
    return lines


def _float32_ratio(cases: pd.DataFrame, row: pd.Series) -> str:
    """``row``'s throughput over its model's float32 PyTorch loop's (their median processes,
    not paired by round), as a clause; empty when that loop did not run."""
    torch = cases[
        (cases["framework"] == "pytorch")
        & (cases["model"] == row["model"])
        & (cases["precision"] == "float32")
    ]
    if "batch_size" in cases:  # runs since the cases had other batch sizes
        torch = torch[torch["batch_size"] == row["batch_size"]]
    if torch.empty or "images_per_s" not in cases:
        return ""
    ratio = float(row["images_per_s"]) / float(torch["images_per_s"].iloc[0])
    return f", {ratio:.2f}x PyTorch in float32 (median processes)"


WARM_UP = 5  # the fifth
"""Trials after which a search's memory has been seen to level off: the trials' line also
gives the memory after this many, so that the rise while a process warms up is told apart
from a rise per trial."""


def trials_line(trials: pd.DataFrame) -> str:
    """The tuning trials' fixed cost and memory growth, in one line; with the one-network
    search's growth and the dense space's without oneDNN where the run made them (a
    ``space`` column)."""
    if "space" in trials:
        others = (ONE_NETWORK_SPACE, ONEDNN_OFF)
        line = trials_line(trials[~trials["space"].isin(others)].drop(columns="space"))
        one = trials[trials["space"] == ONE_NETWORK_SPACE]["rss_mb"]
        if not one.empty:
            line = line[:-1] + (
                f"; over {len(one)} trials of one network (the default; only the optimizer and "
                f"learning rate drawn): {one.iloc[-1] - one.iloc[0]:+,.0f} MB from the first "
                f"to the last."
            )
        off = trials[trials["space"] == ONEDNN_OFF]
        if not off.empty:
            rss = off["rss_mb"]
            line = line[:-1] + (
                f"; the dense space again with TensorFlow's oneDNN kernels off "
                f"(`TF_ENABLE_ONEDNN_OPTS=0`): fixed cost median "
                f"{off['fixed_cost_s'].median():.2f} s, {_growth(rss)}."
            )
        return line
    rss = trials["rss_mb"]
    before = (  # runs before that column have only the fixed cost
        f"KerasTuner's bookkeeping before it median {trials['before_s'].median():.2f} s; "
        if "before_s" in trials
        else ""
    )
    memory = f"resident memory {rss.iloc[0]:,.0f} MB after the first, "
    if len(rss) > WARM_UP + 1:
        memory += f"{rss.iloc[WARM_UP - 1]:,.0f} MB after the fifth, "
    if "second_epoch_s" in trials:  # two-epoch trials, since the epoch loop
        what = "two epochs each, in one process): fixed cost (the first epoch's time beyond "
        what += "the second's: build, trace, compile)"
    else:
        what = "one epoch each, in one process): fixed cost (build, compile, first step)"
    return (
        f"- Tuning trials ({len(trials)}, {what} median "
        f"**{trials['fixed_cost_s'].median():.2f} s**; "
        f"{before}{memory}{rss.iloc[-1]:,.0f} MB after the last ({_growth(rss)})."
    )


def _growth(rss: pd.Series) -> str:
    """``+346 MB; +154 MB from the fifth``: memory from the first trial (and the fifth) to the
    last."""
    growth = f"{rss.iloc[-1] - rss.iloc[0]:+,.0f} MB"
    if len(rss) > WARM_UP + 1:
        growth += f"; {rss.iloc[-1] - rss.iloc[WARM_UP - 1]:+,.0f} MB from the fifth"
    return growth


def readme_block(
    archive: str | os.PathLike | None,
    records: Iterable[RunRecord],
    test_labels: Callable[[RunRecord], np.ndarray],
) -> str:
    """The README's speed block: each case's ratio to PyTorch from the latest committed
    benchmark run that measured it, the trials and the search case of the latest runs that
    ran them, then where float32 against bfloat16 on full data is shown."""
    lines: list[str] = []
    shown: set[str] = set()
    trials_shown = search_shown = False
    machine_before = None
    for folder in committed_runs(archive):
        if (folder / "jobs.csv").exists():
            continue  # a run of experiments.bench.jobs
        cases = cases_of(folder)
        new = set(target_rows(cases)["key"]) - shown if "vs_pytorch" in cases else set()
        # the new targets, and the PyTorch peers their lines name
        cases = cases[cases["key"].isin(new) | (cases["framework"] == "pytorch")]
        cases = cases if new else cases.iloc[:0]
        has_trials = not trials_shown and (folder / layout.TRIALS).exists()
        has_search = not search_shown and (folder / "search.csv").exists()
        if cases.empty and not has_trials and not has_search:
            continue
        machine = machine_of(folder)
        same_cpu = machine == machine_before
        lines += [*([""] if lines else []), *_readme_run(folder, cases, new, same_cpu)]
        lines += [trials_line(pd.read_csv(folder / layout.TRIALS))] if has_trials else []
        lines += [search_line(pd.read_csv(folder / "search.csv"))] if has_search else []
        shown |= new
        trials_shown = trials_shown or has_trials
        search_shown = search_shown or has_search
        machine_before = machine
    if not lines:
        lines = [
            "No benchmark run committed yet: `python -m experiments.benchmark`, then "
            "`python -m experiments.report --save-records --docs`."
        ]
    if comparison_table(records, test_labels) is not None:
        lines += [
            "",
            "Whether bfloat16 or the epoch loop changes what is learned, the same configs paired "
            f"by seed on full data: [docs/{SPEED_PAGE}](docs/{SPEED_PAGE}#float32-against-"
            "bfloat16-fit-against-the-epoch-loop-on-full-data).",
        ]
    return "\n".join(lines)


def _readme_run(folder: Path, cases: pd.DataFrame, new: set[str], same_cpu: bool) -> list[str]:
    """A run's command, date and CPU, then the lines of its ``cases`` and, for the default
    networks among the ``new`` case keys, the step profile."""
    run = json.loads((folder / RUN_FILE).read_text())
    lines = [
        f"Printed by `{run['command']}` on {run['created'][:10]}, "
        f"{'the same CPU' if same_cpu else machine_of(folder)}:",
        "",
        *(target_lines(cases) if not cases.empty else []),
    ]
    if (folder / "profile.csv").exists():
        profile = pd.read_csv(folder / "profile.csv", keep_default_na=False)
        # the step of the default network: for the models whose defaults this run shows
        shown_defaults = {key.split("/")[0] for key in new if key.split("/")[2] == "defaults"}
        lines += profile_lines(profile, sorted(shown_defaults))
    return lines


def speed_page(
    archive: str | os.PathLike | None,
    records: Iterable[RunRecord],
    test_labels: Callable[[RunRecord], np.ndarray],
) -> str:
    """The whole of ``docs/speed.md``."""
    lines = [
        "# Speed",
        "",
        "Written by `python -m experiments.report --docs` from the committed benchmark runs",
        f"(`{_archived()}`) and run records: per CPU, the runs that hold the latest measurement",
        "of something on it, newest first. How the benchmark measures, what its columns mean",
        f"and how to install PyTorch's CPU build: [{METHOD_PAGE}]({METHOD_PAGE}).",
        "Figures on these machines move 10-30 % between identical runs: only ratios measured",
        "side by side in one run are compared.",
        "",
        *comparison_section(records, test_labels),
    ]
    current, older = current_runs(archive)
    machines = list(dict.fromkeys(machine_of(folder) for folder in current))  # newest first
    for machine in machines:
        lines += [f"## {machine}", ""]
        lines += [line for f in current if machine_of(f) == machine for line in run_section(f)]
    if older:
        lines += [
            "## Earlier runs",
            "",
            "Kept whole as records (each folder holds its tables and `run.json`); a later run on",
            f"the same CPU measured again everything they measured. Under `{_archived()}`:",
            "",
            *(f"- `{f.name}`: `{_command(f)}`" for f in older),
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _archived() -> Path:
    return Path(layout.ARCHIVE) / FOLDER


def _command(folder: Path) -> str:
    return json.loads((folder / RUN_FILE).read_text())["command"]


def _markdown(path: Path) -> str:
    return pd.read_csv(path, keep_default_na=False).to_markdown(index=False)
