"""``docs/speed.md``, written by ``python -m experiments.report --docs`` from what is committed:
the benchmark runs under ``docs/records/benchmark/`` and the run records that compare
precisions and training loops on full data.

A committed benchmark run is a folder holding the tables the command writes
(``experiments.benchmark``'s ``benchmark.csv``, and ``limits.csv``, ``profile.csv`` and
``trials.csv`` when it measured them, or ``experiments.bench.jobs``'s ``jobs.csv``) and
``run.json``: the command line, the date, the CPU and its flags, the library versions and,
optionally, a ``note`` on the conditions of the run. ``python -m experiments.report
--save-records`` adds the latest runs of both commands under ``results/benchmark/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.bench.compared import comparison_section, comparison_table
from keras_fcn import layout
from keras_fcn.record import RunRecord, write_json

FOLDER = "benchmark"
"""The committed benchmark runs' folder, under the records' archive."""

RUN_FILE = "run.json"
TABLES = ("benchmark", "limits", "trials", "jobs", "profile", "search")
SPEED_PAGE = "speed.md"
METHOD_PAGE = "benchmark.md"
"""The hand-written page that says how the benchmark measures (no figures)."""


def save_runs(results: str | os.PathLike, archive: str | os.PathLike) -> list[Path]:
    """Copy the benchmark runs under ``results`` (``experiments.benchmark``'s and
    ``experiments.bench.jobs``'s) into the archive; returns the folders added."""
    source = layout.folder("benchmark", results)
    found = [(source, "benchmark.json"), (source / "jobs", "jobs.json")]
    return [p for folder, meta in found if (p := _save_run(folder, meta, archive)) is not None]


def _save_run(source: Path, meta: str, archive: str | os.PathLike) -> Path | None:
    """One run's tables and ``run.json``, in a folder named for its date, command and CPU;
    ``None`` when ``source`` holds no finished run or the archive has it already."""
    tables = [source / f"{name}.csv" for name in TABLES if (source / f"{name}.csv").exists()]
    if not (source / meta).exists() or not tables:
        return None
    saved = json.loads((source / meta).read_text())
    cpu = saved.get("cpu", {})
    slug = re.sub(r"[^a-z0-9]+", "-", (cpu.get("model") or "cpu").lower()).strip("-")[:40]
    when = re.sub(r"\D", "", saved.get("created", ""))[:12]  # YYYYMMDDhhmm
    stamp = "-".join(p for p in (when[:4], when[4:6], when[6:8], when[8:]) if p) or "undated"
    target = Path(archive) / FOLDER / f"{stamp}-{Path(meta).stem}-{slug}"
    if target.exists():
        return None
    target.mkdir(parents=True)
    for table in tables:
        shutil.copyfile(table, target / table.name)
    keys = ("command", "created", "cpu", "versions")
    write_json(target / RUN_FILE, {k: saved[k] for k in keys if k in saved})
    return target


def committed_runs(archive: str | os.PathLike | None) -> list[Path]:
    """The committed benchmark runs, newest first."""
    if archive is None:
        return []
    folders = [p.parent for p in (Path(archive) / FOLDER).glob(f"*/{RUN_FILE}")]
    return sorted(folders, key=lambda p: json.loads((p / RUN_FILE).read_text())["created"])[::-1]


def current_runs(archive: str | os.PathLike | None) -> tuple[list[Path], list[Path]]:
    """The committed runs, newest first, split in two: those that hold the latest
    measurement on their CPU of something (a target case, a model's limit or step profile,
    the trials, the search case, the jobs), and the older ones, which a later run on the
    same CPU measured again in all of those."""
    current: list[Path] = []
    older: list[Path] = []
    measured: dict[str, set[str]] = {}
    for folder in committed_runs(archive):
        seen = measured.setdefault(_machine(folder), set())
        new = _contents(folder) - seen
        (current if new else older).append(folder)
        seen |= new
    return current, older


TIERS = ("amx_tile", "avx512_bf16", "avx512f", "avx2")
"""The instruction sets that divide CPUs into families for speed, widest first: a run is
grouped with the runs on the same CPU model whose widest of these is the same."""


def _machine(folder: Path) -> str:
    """A run's CPU family: its model, the widest of :data:`TIERS` it has, and its cores."""
    cpu = json.loads((folder / RUN_FILE).read_text())["cpu"]
    present = cpu.get("present", [])
    tier = next((flag for flag in TIERS if flag in present), "none of " + ", ".join(TIERS))
    model = cpu.get("model") or "CPU model not recorded"
    return f"{model} ({tier}), {cpu.get('cores', '?')} cores"


def _contents(folder: Path) -> set[str]:
    """What a run measured that the README's targets read: its target cases (by backend;
    not the variants tried once), its limits and step profiles by model, and its trials,
    search case and jobs."""
    cases = _cases(folder)
    found = set(target_rows(cases)["key"]) if "vs_pytorch" in cases else set()
    for table in ("limits", "profile"):
        if (folder / f"{table}.csv").exists():
            models = pd.read_csv(folder / f"{table}.csv", keep_default_na=False)["model"]
            found |= {f"{table}/{model}" for model in models}
    return found | {t for t in ("trials", "search", "jobs") if (folder / f"{t}.csv").exists()}


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


def target_rows(cases: pd.DataFrame) -> pd.DataFrame:
    """The rows of a run's table that :func:`target_lines` states: keras-fcn on TensorFlow
    at its defaults, in float32, or at its defaults at a small batch, where their PyTorch
    peer ran."""
    keras = cases[(cases["framework"] == "keras-fcn") & (cases["backend"] == "tensorflow")]
    small_batch = keras["variant"].astype(str).str.fullmatch(r"batch_size=\d+")
    rows = keras[keras["variant"].isin(["defaults", "precision=float32"]) | small_batch]
    return rows[rows["vs_pytorch"] != ""]  # a case whose PyTorch peer did not run


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
    search's growth where the run made one (a ``space`` column)."""
    if "space" in trials:
        one = trials[trials["space"] == "one network"]["rss_mb"]
        line = trials_line(trials[trials["space"] != "one network"].drop(columns="space"))
        if one.empty:
            return line
        return line[:-1] + (
            f"; over {len(one)} trials of one network (the default; only the optimizer and "
            f"learning rate drawn): {one.iloc[-1] - one.iloc[0]:+,.0f} MB from the first to "
            f"the last."
        )
    rss = trials["rss_mb"]
    before = (  # runs before that column have only the fixed cost
        f"KerasTuner's bookkeeping before it median {trials['before_s'].median():.2f} s; "
        if "before_s" in trials
        else ""
    )
    memory = f"resident memory {rss.iloc[0]:,.0f} MB after the first, "
    growth = f"{rss.iloc[-1] - rss.iloc[0]:+,.0f} MB"
    if len(rss) > WARM_UP + 1:
        warm = rss.iloc[WARM_UP - 1]
        memory += f"{warm:,.0f} MB after the fifth, "
        growth += f"; {rss.iloc[-1] - warm:+,.0f} MB from the fifth"
    if "second_epoch_s" in trials:  # two-epoch trials, since the epoch loop
        what = "two epochs each, in one process): fixed cost (the first epoch's time beyond "
        what += "the second's: build, trace, compile)"
    else:
        what = "one epoch each, in one process): fixed cost (build, compile, first step)"
    return (
        f"- Tuning trials ({len(trials)}, {what} median "
        f"**{trials['fixed_cost_s'].median():.2f} s**; "
        f"{before}{memory}{rss.iloc[-1]:,.0f} MB after the last ({growth})."
    )


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
        cases = _cases(folder)
        new = set(target_rows(cases)["key"]) - shown if "vs_pytorch" in cases else set()
        # the new targets, and the PyTorch peers their lines name
        cases = cases[cases["key"].isin(new) | (cases["framework"] == "pytorch")]
        cases = cases if new else cases.iloc[:0]
        has_trials = not trials_shown and (folder / layout.TRIALS).exists()
        has_search = not search_shown and (folder / "search.csv").exists()
        if cases.empty and not has_trials and not has_search:
            continue
        run = json.loads((folder / RUN_FILE).read_text())
        cpu = run["cpu"]
        machine = (
            f"{cpu.get('model') or 'CPU model not recorded'}, {cpu.get('cores', '?')} cores, "
            f"CPU flags `{' '.join(cpu.get('present', [])) or 'none of those looked for'}`"
        )
        lines += [
            *([""] if lines else []),
            f"Printed by `{run['command']}` on {run['created'][:10]} "
            f"({'the same CPU' if machine == machine_before else machine}):",
            "",
            *(target_lines(cases) if not cases.empty else []),
        ]
        if (folder / "profile.csv").exists():
            profile = pd.read_csv(folder / "profile.csv", keep_default_na=False)
            # the step of the default network: for the models whose defaults this run shows
            shown_defaults = {key.split("/")[0] for key in new if key.split("/")[2] == "defaults"}
            lines += profile_lines(profile, sorted(shown_defaults))
        if has_trials:
            lines.append(trials_line(pd.read_csv(folder / layout.TRIALS)))
        if has_search:
            lines.append(search_line(pd.read_csv(folder / "search.csv")))
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


def _cases(folder: Path) -> pd.DataFrame:
    """A run's table of cases (empty if it measured none), each with a ``key`` naming its
    case and backend: the README shows each case from the latest run that measured it."""
    parts = ["model", "framework", "variant", "backend"]
    if not (folder / "benchmark.csv").exists():
        return pd.DataFrame(columns=[*parts, "key"])
    cases = pd.read_csv(folder / "benchmark.csv", keep_default_na=False)
    return cases.assign(key=cases[parts].astype(str).agg("/".join, axis=1))


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
    machines = list(dict.fromkeys(_machine(folder) for folder in current))  # newest first
    for machine in machines:
        lines += [f"## {machine}", ""]
        lines += [line for f in current if _machine(f) == machine for line in run_section(f)]
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
