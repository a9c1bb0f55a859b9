"""The committed benchmark runs: saving a finished run into the records' archive, and which
runs still hold the latest measurement of something on their CPU family.

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
from pathlib import Path

import pandas as pd

from keras_fcn import layout
from keras_fcn.record import write_json

FOLDER = "benchmark"
"""The committed benchmark runs' folder, under the records' archive."""

RUN_FILE = "run.json"
TABLES = ("benchmark", "limits", "trials", "jobs", "profile", "search")


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


def set_aside(out: Path) -> Path | None:
    """Move an earlier ``experiments.benchmark`` run's files out of ``out`` into
    ``out/earlier-STAMP/``, so that a run measuring fewer parts leaves no other run's tables
    beside its own (they would be saved and shown as its); the folder moved to, or ``None``
    when ``out`` holds no earlier run."""
    meta = out / "benchmark.json"
    if not meta.exists():
        return None
    created = json.loads(meta.read_text()).get("created", "")
    target = out / f"earlier-{re.sub(r'[^0-9]', '', created)[:14] or 'undated'}"
    target.mkdir(exist_ok=True)
    for path in [meta, *(out / f"{t}.{ext}" for t in TABLES for ext in ("csv", "md"))]:
        if path.exists():
            path.replace(target / path.name)
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
        seen = measured.setdefault(machine_of(folder), set())
        new = _contents(folder) - seen
        (current if new else older).append(folder)
        seen |= new
    return current, older


TIERS = ("amx_tile", "avx512_bf16", "avx512f", "avx2")
"""The instruction sets that divide CPUs into families for speed, widest first: a run is
grouped with the runs on the same CPU model whose widest of these is the same."""


def machine_of(folder: Path) -> str:
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
    cases = cases_of(folder)
    found = set(target_rows(cases)["key"]) if "vs_pytorch" in cases else set()
    for table in ("limits", "profile"):
        if (folder / f"{table}.csv").exists():
            models = pd.read_csv(folder / f"{table}.csv", keep_default_na=False)["model"]
            found |= {f"{table}/{model}" for model in models}
    return found | {t for t in ("trials", "search", "jobs") if (folder / f"{t}.csv").exists()}


def cases_of(folder: Path) -> pd.DataFrame:
    """A run's table of cases (empty if it measured none), each with a ``key`` naming its
    case and backend: the README shows each case from the latest run that measured it."""
    parts = ["model", "framework", "variant", "backend"]
    if not (folder / "benchmark.csv").exists():
        return pd.DataFrame(columns=[*parts, "key"])
    cases = pd.read_csv(folder / "benchmark.csv", keep_default_na=False)
    return cases.assign(key=cases[parts].astype(str).agg("/".join, axis=1))


def target_rows(cases: pd.DataFrame) -> pd.DataFrame:
    """The rows of a run's table that :func:`experiments.bench.page.target_lines` states:
    keras-fcn on TensorFlow at its defaults, in float32, or at its defaults at a small
    batch, where their PyTorch peer ran."""
    keras = cases[(cases["framework"] == "keras-fcn") & (cases["backend"] == "tensorflow")]
    small_batch = keras["variant"].astype(str).str.fullmatch(r"batch_size=\d+")
    rows = keras[keras["variant"].isin(["defaults", "precision=float32"]) | small_batch]
    return rows[rows["vs_pytorch"] != ""]  # a case whose PyTorch peer did not run
