"""The results at a glance: one row per result the commands recorded, with its command.

The README's table (``python -m experiments.report --readme``), the report's and the
results page's are all :func:`glance_table`, rendered by :func:`to_markdown`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from experiments import _commands as commands
from keras_fcn import layout
from keras_fcn.commands import Command
from keras_fcn.identity import ADDED_FIELDS, SPEED_FIELDS, Status, record_group_key
from keras_fcn.record import RunRecord
from keras_fcn.registry import DEFAULT_SEED
from keras_fcn.reporting.records import final_records, read_runs
from keras_fcn.reporting.tables import mean_std, unpadded_markdown
from keras_fcn.settings import flag_value

COLUMNS = ("result", "dataset", "value", "command")

NO_RESULTS = "No results yet: run the commands above, then `python -m experiments.report --readme`."
"""What the README's block says when nothing has been recorded."""

Defaults = Mapping[str, dict[str, Any]]
"""Family name -> its default ``RunConfig.to_dict()``."""


def single_run_rows(results: str | os.PathLike, defaults: Defaults) -> list[dict[str, str]]:
    """Rows for the full-data runs of the single-run commands, one per config.

    Args:
        results: the results root.
        defaults: family name -> its default ``RunConfig.to_dict()``: a row's command shows
            the ``--set`` flags that differ from it.
    """
    rows = []
    for command in layout.SINGLE_RUNS:
        records = [
            r
            for r in read_runs(layout.runs(command, results))
            if r.config["data"].get("train_limit") is None
        ]
        groups: dict[str, list[RunRecord]] = {}
        for r in records:
            groups.setdefault(record_group_key(r), []).append(r)
        for group in groups.values():
            latest = {r.seed: r for r in group}  # the last record of each seed
            seeds = sorted(latest)
            changed = changed_settings(group[0], defaults.get(group[0].family, {}))
            dataset = group[0].config["data"]["dataset"]
            line = Command(commands.of_folder(command))
            if dataset != defaults.get(group[0].family, {}).get("data", {}).get("dataset"):
                line = line.with_options(("--dataset", dataset))  # a transfer's runs
            line = line.with_settings(changed)
            if seeds != [DEFAULT_SEED]:
                line = line.with_options(("--seed", "S"))
            seed_text = (
                f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
            )
            rows.append(
                {
                    "result": f"{group[0].family} {_settings(changed)}: test accuracy ({seed_text})",
                    "dataset": dataset,
                    "value": mean_std([latest[s].test_accuracy for s in seeds]),
                    "command": line.render(),
                }
            )
    return rows


def _settings(changed: Mapping[str, Any]) -> str:
    """``default``, or the settings that differ from it (``precision=float32``)."""
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "default"


def changed_settings(record: RunRecord, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a record that differ from ``defaults`` (a ``RunConfig.to_dict()``, or
    some of its parts), as ``--set`` takes them; the seed, the dataset and the speed
    settings (which the rows' grouping leaves out too) left out."""
    changed = {}
    for part, values in record.config.items():
        if part not in defaults:
            continue
        for key in dict.fromkeys([*values, *defaults[part]]):
            if key in ("seed", "dataset", *SPEED_FIELDS) or key not in values:
                continue
            value = values[key]
            if defaults[part].get(key) != value:
                changed[key] = flag_value(value)
    return changed


SEARCHED = re.compile(r"(?:^|, )([A-Za-z_][\w.]*)=")
"""The names in a search summary's ``best`` (``hidden=1024-256, dropout=0.0648``): the
fields it searched, whose chosen values its own command finds again."""


def search_command(summary: dict, finals: list, defaults: Defaults) -> Command:
    """The command that repeats a search today: its own (less ``--out``), with ``--set``
    for each data setting and field added since in which its final runs differ from
    ``defaults`` (family name -> its default ``RunConfig.to_dict()``) and that it neither
    names nor searched (:data:`SEARCHED`)."""
    family_defaults = defaults.get(summary["family"], {})
    changed = changed_settings(finals[0], family_defaults) if finals else {}
    searched = set(SEARCHED.findall(summary["best"]))
    changed = {  # not what the search chose: its data and fields added since
        k: v
        for k, v in changed.items()
        if (k in family_defaults.get("data", {}) or k in ADDED_FIELDS) and k not in searched
    }
    line = Command.parse(summary["command"]).portable()  # an older summary kept --out
    named = {(value or "").split("=", 1)[0] for _, value in line.options}
    return line.with_settings({k: v for k, v in changed.items() if k not in named})


CHOSEN = re.compile(r"^(tuned .*final seeds); .*$")
"""A search's row of :func:`tuning_rows` up to the values it chose (``; hidden=...``)."""


def tuning_rows(results: str | os.PathLike, defaults: Defaults) -> list[dict[str, str]]:
    """Rows for every finished search under the results root's ``tune`` folder.

    Args:
        results: the results root.
        defaults: family name -> its default ``RunConfig.to_dict()``, for
            :func:`search_command`: the command still repeats the search after a default
            changed.
    """
    rows = []
    for search in layout.searches(results, compared=False):  # a comparison's: its table
        summary = json.loads((search / layout.SEARCH_SUMMARY).read_text())
        # the search's own final runs only: its folder may hold runs of an earlier best
        finals = final_records(search, summary)
        line = search_command(summary, finals, defaults)
        machine = f" on {summary['machine']}" if "machine" in summary else ""
        rows.append(
            {
                "result": f"tuned {summary['family']} ({summary['tuner']}, {summary['trials']} trials, "
                f"{summary['total_epochs']} epochs, {summary['trial_hours']:.2f} h of trials"
                f"{machine}): test accuracy over "
                f"{len(finals)} final seeds; {summary['best']}",
                "dataset": summary["dataset"],
                "value": mean_std([r.test_accuracy for r in finals if r.status == Status.OK]),
                "command": line.render(),
            }
        )
    return rows


def baseline_rows(results: str | os.PathLike) -> list[dict[str, str]]:
    """Rows for the baselines of ``experiments.baselines`` on full data (their fit and
    prediction times are in the report's table of each family's best)."""
    rows = []
    for r in read_runs(layout.runs("baselines", results)):
        if r.config["data"].get("train_limit") is not None:
            continue
        settings = ", ".join(f"{k}={v}" for k, v in r.config["model"].items())
        fixed = " 1 settings" in r.note or "fixed" in r.note
        how = "one fixed setting" if fixed else "chosen on validation"
        rows.append(
            {
                "result": f"{r.family} ({settings}; {how}): test accuracy",
                "dataset": r.config["data"]["dataset"],
                "value": mean_std([r.test_accuracy]),
                "command": Command(commands.BASELINES, (), (("--dataset", "both"),)).render(),
            }
        )
    return rows


def glance_table(results: str | os.PathLike, defaults: Defaults) -> pd.DataFrame:
    """The results at a glance, built from the run records under ``results``: the single
    runs, then the searches, then the baselines; each command in backquotes.

    Args:
        results: the results root.
        defaults: family name -> its default ``RunConfig.to_dict()``.
    """
    results = Path(results)
    rows = (
        single_run_rows(results, defaults) + tuning_rows(results, defaults) + baseline_rows(results)
    )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["command"] = "`" + frame["command"] + "`"
    return frame


def to_markdown(table: pd.DataFrame) -> str:
    """The table at a glance as Markdown, as the README, the report and the results page
    show it (unpadded: a search's command is long)."""
    return unpadded_markdown(table)


def readme_block(results: str | os.PathLike, defaults: Defaults) -> str:
    """The README's results table (what ``--readme`` prints), or :data:`NO_RESULTS`."""
    table = glance_table(results, defaults)
    return to_markdown(table) if len(table) else NO_RESULTS
