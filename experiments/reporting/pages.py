"""The pages of ``docs/`` that show results, written from the run records.

``python -m experiments.report --docs`` writes them; nothing on them is typed by hand, so a
page cannot disagree with the records it was made from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments import _commands as commands
from experiments.reporting import glance, readme
from experiments.reporting.config_page import configs_page
from experiments.reporting.searches import SEARCHES_PAGE, searches_page
from experiments.reporting.studies import study_seeds
from keras_fcn import layout
from keras_fcn.registry import DEFAULT_SEED

RESULTS_PAGE = "results.md"
CONFIGS_PAGE = "configs.md"

ROW_RULE = (
    "A row is *within seed spread* when ours and the published figure lie at most "
    "2·√(s² + p²) apart, s our standard deviation over seeds and p the one the study reports "
    "(0 where it reports none): twice the spread of the difference between one run of ours "
    "and one of the study's; *ours lower* or *ours higher* otherwise."
)
"""The rule of a row's verdict (:func:`keras_fcn.replication.verdict`), said on each study page."""

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def write_pages(
    results: str | os.PathLike,
    out: str | os.PathLike,
    defaults: Mapping[str, dict[str, Any]],
    families: Mapping[str, Any],
    sources: Mapping[str, str] | None = None,
    readme_file: str | os.PathLike | None = None,
    readings: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``results.md``, ``searches.md``, one page per re-run study under ``studies/``
    (from the records under ``results``) and ``configs.md`` (from the families' config
    classes) into ``out``,
    and the results block of ``readme_file``.

    Args:
        results: a results root (the committed records and the commands', merged).
        out: the docs folder (created).
        defaults: family name -> its default ``RunConfig.to_dict()``.
        families: family name -> :class:`keras_fcn.family.Family`.
        sources: study name -> the study it re-runs, said under the study's heading.
        readme_file: the README whose results block is rewritten; ``None`` leaves it.
        readings: study name -> what reproduces and why, said under the study's tally.

    Returns:
        The paths written.
    """
    out = Path(out)
    (out / readme.STUDY_PAGES).mkdir(parents=True, exist_ok=True)
    pages = {
        RESULTS_PAGE: results_page(results, defaults),
        CONFIGS_PAGE: configs_page(families),
        SEARCHES_PAGE: searches_page(results, defaults),
    }
    for folder in layout.studies(results):
        reading = (readings or {}).get(folder.name, "")
        page = "\n".join(_study_section(folder, (sources or {}).get(folder.name), reading))
        pages[f"{readme.STUDY_PAGES}/{folder.name}.md"] = page
    for name, text in pages.items():
        (out / name).write_text(text)
    written = [out / name for name in pages]
    if readme_file is not None:
        readme.update_readme(readme_file, readme.block(results, defaults, readings))
        written.append(Path(readme_file))
    return written


def results_page(results: str | os.PathLike, defaults: Mapping[str, dict[str, Any]]) -> str:
    """``docs/results.md``: every result at a glance, the re-run studies' pages, the report."""
    lines = [
        "# Results",
        "",
        "Written by `python -m experiments.report --docs` from the committed run records",
        f"(`{layout.ARCHIVE}`) and those the commands left under `results/`; every number was",
        "printed by the command named beside it.",
        "",
        "## At a glance",
        "",
        "Printed by `python -m experiments.report --readme`:",
        "",
        glance.readme_block(results, defaults),
        "",
        f"Each search's trials, best curves and figures: [{SEARCHES_PAGE}]({SEARCHES_PAGE}).",
        "",
        "## The published studies",
        "",
    ]
    studies = layout.studies(results)
    lines += [
        f"- [{f.name}]({readme.STUDY_PAGES}/{f.name}.md), over {_count(len(study_seeds(f)), 'seed')}"
        for f in studies
    ] or ["None re-run yet: `python -m experiments.reproduce STUDY --seeds 3`."]
    claims = layout.folder("reproduce", results) / layout.CLAIMS
    if claims.exists():
        lines += [
            "",
            "## The published claims",
            "",
            "What each study concludes from its tables (`keras_fcn/replication/studies/claims.csv`),",
            "tested on the runs of the re-run studies:",
            "",
            claims.read_text().rstrip("\n"),
        ]
    lines += ["", *_REPORT_SECTION]
    return "\n".join(lines)


def _study_section(folder: Path, source: str | None, reading: str = "") -> list[str]:
    """A re-run study's tables side by side with the published ones, and their significance."""
    name, seeds = folder.name, study_seeds(folder)
    first = [("--first-seed", str(seeds[0]))] if seeds and seeds[0] != DEFAULT_SEED else []
    command = commands.study(name, len(seeds), *first)
    lines = [
        f"# The {name.capitalize()} study, re-run over {_count(len(seeds), 'seed')}",
        "",
        *([f"Re-runs {source}.", ""] if source else []),
        f"Printed by `{command}` (also in `{layout.study(name) / layout.SIDE_BY_SIDE}`).",
    ]
    if seeds:
        lines.append(
            f'"Ours" is the mean ± standard deviation over {"seeds" if len(seeds) > 1 else "seed"} '
            f"{_and(seeds)}; validation accuracy is the best epoch's. {ROW_RULE}"
        )
    lines += ["", " ".join([readme.tally(folder), reading]).strip()]
    lines += ["", (folder / layout.SIDE_BY_SIDE).read_text().rstrip("\n"), ""]
    sections = {
        layout.SIGNIFICANCE: "Each table's best row on validation against its runner-up, over the same seeds",
        layout.CROSSCHECK: "Checked against PyTorch itself",
        layout.PROCEDURE: "The procedure re-chosen on validation: where our own choices lead",
        layout.VARIANTS: "Its rows with one setting changed: what the study leaves unsaid, and what it tried without numbers",
        layout.GRID_FACTORS: "Its grid, factor by factor",
        layout.CLAIMS: "What the study concludes, tested on our runs",
    }
    for name, heading in sections.items():
        if (folder / name).exists():
            lines += [f"## {heading}", "", (folder / name).read_text().rstrip("\n"), ""]
    if (folder / layout.CLAIMS).exists():
        lines += [
            "The verdicts are explained in [results.md](../results.md#the-published-claims).",
            "",
        ]
    if (folder / layout.DIFFERENCES).exists():
        text = (folder / layout.DIFFERENCES).read_text().rstrip("\n")
        lines += ["## Where ours differs, and why", "", text, ""]
    return lines


def _count(n: int, noun: str) -> str:
    """``three seeds``, ``one seed``, ``12 seeds``."""
    return f"{_NUMBERS[n] if n < len(_NUMBERS) else n} {noun}{'s' * (n != 1)}"


def _and(items: list) -> str:
    """``42, 43 and 44``."""
    text = [str(i) for i in items]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


_REPORT_SECTION = [
    "## The report",
    "",
    "`python -m experiments.report` writes everything above and more (the data, confusion",
    "matrices counted and row-normalized, per-class scores, the most confused pairs with example",
    "images, McNemar's test between the best model of each family, the MNIST transfer) to",
    f"`{layout.folder('report') / layout.REPORT}`. An example, built from the committed records:",
    "[example-report/report.md](example-report/report.md). To add new full-data records to the",
    "committed ones and rebuild these pages, the README's results and the example:",
    "",
    "    python -m experiments.report --save-records --docs",
    "    python -m experiments.report --out docs/example-report",
    "",
    "The speed of training, measured by `python -m experiments.benchmark`: [speed.md](speed.md).",
    "",
]
