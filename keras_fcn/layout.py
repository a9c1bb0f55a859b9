"""Where each command writes under the results root, and where the report reads.

Every command writes into one folder of its own under the results root (``results/`` by
default; ``--out`` moves it). The report reads the same folders, so a folder name is said
here once:

=================  ==========================================================
``fashion_dense``  ``experiments.fashion_dense``: ``runs.jsonl``, one folder per run
``mnist_dense``    ``experiments.mnist_dense``, the same
``fashion_cnn``    ``experiments.fashion_cnn``, the same
``tune``           ``experiments.tune``: one folder per search
``reproduce``      ``experiments.reproduce``: ``reproduce/STUDY`` per study
``baselines``      ``experiments.baselines``: ``runs.jsonl``, the baselines' table
``benchmark``      ``experiments.benchmark``
``report``         ``experiments.report``: ``report.md`` and its figures
=================  ==========================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_fcn.errors import ResultsError

ROOT = Path("results")
"""The results root the commands write under by default."""

ARCHIVE = Path("docs/records")
"""The committed copy of the records behind the published figures, kept by the report command."""

FOLDERS = (
    "fashion_dense",
    "mnist_dense",
    "fashion_cnn",
    "tune",
    "reproduce",
    "baselines",
    "benchmark",
    "report",
)
"""The folder of each command under the results root, named as the command."""

SINGLE_RUNS = ("fashion_dense", "mnist_dense", "fashion_cnn")
"""The commands that train one config and append its record to their ``runs.jsonl``."""

RUNS = "runs.jsonl"
"""The store of run records in a command's (or a study's) folder."""

QUICK = "-quick"
"""The suffix of a folder of ``--quick`` runs (a study's, a search's, the baselines'): their
runs saw a small part of the data, and the report and the archive leave them out."""

GRID = "-grid"
"""The suffix of a re-run study's folder of grid runs (``experiments.reproduce --grid``)."""

SEARCH_IDENTITY = "search.json"
"""What defines a search (its identity) and the command that runs it, in its folder from
the start."""

SEARCH_SUMMARY = "summary.json"
"""What ``experiments.tune`` leaves in a search's folder once the search is done."""

TUNER_PROJECT = "search"
"""KerasTuner's project folder (its trials), in a search's folder."""

TRIALS = "trials.csv"
"""The table of trials, one line per trial (beside it as ``.md``), in a search's folder and
in a benchmark's."""

ALONG_EACH = "along_each.png"
"""Validation accuracy against each searched hyperparameter, one point per trial, in a
search's folder."""

BEST_CURVES = "best_trials.png"
"""Validation accuracy per epoch of a search's best trials, in its folder."""

FINAL_RUNS = "final_runs.jsonl"
"""The records of a search's best setting retrained over seeds, in the search's folder."""

BEST_MODEL = "best_model.keras"
"""The final model best on validation, in a search's folder."""

BEST_CONFIG = "best_config.json"
"""The config, seed and searched values of :data:`BEST_MODEL`, beside it."""

FINAL_MODELS = "final_models"
"""Every final run's model (``RUN_ID.keras``) when a search keeps them, in its folder."""

COMPARISON = "comparison.csv"
"""A re-run study's rows against the published ones (beside it as ``.md``), in its folder."""

PYTORCH_RUNS = "pytorch_runs.jsonl"
"""The records of a study's rows trained again by the plain PyTorch loop
(``experiments.reproduce STUDY --pytorch``), beside its ``runs.jsonl``: the same run ids,
trained by another framework."""

CROSSCHECK = "pytorch.md"
"""A study's rows checked against the PyTorch loop (ours, PyTorch's and the paper's), in the
study's folder."""

SIDE_BY_SIDE = "side_by_side.md"
"""A re-run study's tables beside the published numbers, in the study's folder."""

SIGNIFICANCE = "significance.md"
"""A re-run study's best row of each table against its runner-up, in the study's folder."""

PROCEDURE = "procedure.md"
"""A study's stage-by-stage choices re-made on validation, beside the study's own, in its
folder (for studies that carry choices from table to table)."""

VARIANTS = "variants.md"
"""A study's rows trained again with an unsaid setting read another way, beside them, in its
folder (for studies that declare variants)."""

DIFFERENCES = "differences.md"
"""A re-run study's published rows outside the spread, with the cause its checks found, in
its folder."""

CLAIMS = "claims.md"
"""The published claims judged on a re-run study's runs, in its folder (all of them in the
``reproduce`` folder)."""

CLAIM_VERDICTS = "claims.csv"
"""The same verdicts as :data:`CLAIMS`, one line per claim, for the README's tally."""

GRID_FACTORS = "grid_factors.md"
"""A re-run study's grid, factor by factor (the spread of the mean over each factor's
values), in the study's folder; for studies that ran a grid."""

LOCK = "keras-fcn.lock"
"""The lock of a results folder a command is writing, naming that command
(:mod:`keras_fcn.lock`); gone when the command ends."""

REPORT = "report.md"
"""The report's document, in the report's folder."""


def folder(command: str, root: str | os.PathLike = ROOT) -> Path:
    """The folder ``command`` (``tune``, ``fashion_dense``, ...) writes to under ``root``.

    Raises:
        KeyError: ``command`` is not one of :data:`FOLDERS`.
    """
    if command not in FOLDERS:
        raise KeyError(f"no results folder for {command!r}; known: {', '.join(FOLDERS)}")
    return Path(root) / command


def command_folder(module: str, root: str | os.PathLike = ROOT) -> Path:
    """The folder the command of ``module`` (``experiments.fashion_dense``, a family's
    :attr:`~keras_fcn.family.Family.command`) writes to under ``root``: its last name.

    Raises:
        KeyError: the command has no results folder.
    """
    return folder(module.rsplit(".", 1)[-1], root)


def variant(name: str, *, quick: bool = False, grid: bool = False) -> str:
    """The folder name of ``name``'s ``--quick`` and ``--grid`` runs: ``chenab-quick-grid``."""
    return name + (QUICK if quick else "") + (GRID if grid else "")


def is_quick(path: str | os.PathLike) -> bool:
    """Whether ``path`` lies in a folder of ``--quick`` runs (:data:`QUICK`)."""
    return any(part.endswith(QUICK) for part in Path(path).parts)


def runs(command: str, root: str | os.PathLike = ROOT) -> Path:
    """The run records of ``command`` under ``root`` (its ``runs.jsonl``)."""
    return folder(command, root) / RUNS


def study(
    name: str, root: str | os.PathLike = ROOT, *, quick: bool = False, grid: bool = False
) -> Path:
    """The folder of the re-run study ``name`` under ``root`` (of its ``quick`` or ``grid``
    runs: :func:`variant`)."""
    return folder("reproduce", root) / variant(name, quick=quick, grid=grid)


TUNER_COMPARISON = "comparison.json"
"""What a tuner comparison was (its command, budgets and the searches it ran), in its folder
beside ``comparison.csv``/``.md``/``.png``."""


def searches(root: str | os.PathLike = ROOT, compared: bool = True) -> list[Path]:
    """The folder of every finished search under ``root``, by name; without those run by a
    tuner comparison unless ``compared``."""
    found = sorted(p.parent for p in folder("tune", root).glob(f"*/{SEARCH_SUMMARY}"))
    if compared:
        return found
    members = {name for c in comparisons(root) for name in comparison_members(c)}
    return [p for p in found if p.name not in members]


def comparisons(root: str | os.PathLike = ROOT) -> list[Path]:
    """The folder of every tuner comparison under ``root``, by name."""
    return sorted(p.parent for p in folder("tune", root).glob(f"*/{TUNER_COMPARISON}"))


def comparison_members(comparison: Path) -> list[str]:
    """The folder names of the searches a tuner comparison ran."""
    import json

    record = json.loads((comparison / TUNER_COMPARISON).read_text())
    return [name for names in record["searches"].values() for name in names]


def studies(root: str | os.PathLike = ROOT) -> list[Path]:
    """The folder of every re-run study under ``root`` with its tables written, by name.

    The ``-quick`` folders of ``experiments.reproduce --quick`` are left out: their runs
    saw a small part of the data.
    """
    return sorted(
        p.parent
        for p in folder("reproduce", root).glob(f"*/{SIDE_BY_SIDE}")
        if not p.parent.name.endswith(QUICK)
    )


def records(root: str | os.PathLike = ROOT) -> list[Path]:
    """Every store of run records under ``root`` (what the report reads), by path."""
    return sorted(Path(root).glob("**/*.jsonl"))


def writable_folder(out: str | os.PathLike, flag: str = "--out") -> Path:
    """``out`` as a path, once it is known that a folder can be written there; writes nothing.

    A command calls this right after parsing, so that an unusable results folder stops it
    before any data are loaded or anything is measured, and leaves no folder behind.

    Raises:
        ResultsError: ``out`` is empty, is (or lies under) a file, or lies under a folder that
            cannot be written to.
    """
    if not str(out).strip():
        raise ResultsError(f"{flag} {str(out)!r}: give the path of a results folder")
    path = Path(out)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the nearest folder that would hold the new ones
    if not existing.is_dir():
        why = "it is a file" if existing == path else f"{existing} is a file"
    elif not os.access(existing, os.W_OK | os.X_OK):
        why = f"{existing} is not writable"
    else:
        return path
    # worded as RunStore.check_writable words it, so that both failures read alike
    raise ResultsError(f"cannot write results to {path}: {why}; choose another {flag}")
