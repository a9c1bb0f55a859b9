"""The README's results, docs/results.md, the study pages and the example report are what
`python -m experiments.report` builds from the committed records alone."""

from __future__ import annotations

import shutil

import pytest

from experiments import report
from experiments.reporting import archive
from keras_fcn import layout, registry
from tests.helpers import ROOT

pytestmark = pytest.mark.real_data


def test_committed_pages_are_rebuilt_from_the_committed_records(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = tmp_path / "README.md"
    shutil.copyfile(ROOT / "README.md", readme)
    out = tmp_path / "docs"
    args = ["--docs", "--results", str(tmp_path / "none"), "--out", str(out)]
    assert report.main([*args, "--readme-file", str(readme)]) == 0
    assert readme.read_text() == (ROOT / "README.md").read_text(), (
        "README.md's results block differs from the committed records: run "
        "python -m experiments.report --docs"
    )
    written = sorted(p.relative_to(out) for p in out.glob("**/*.md"))
    committed = [
        "results.md",
        "configs.md",
        "searches.md",
        "speed.md",
        *[p.relative_to(ROOT / "docs") for p in (ROOT / "docs/studies").glob("*.md")],
    ]
    assert sorted(map(str, written)) == sorted(map(str, committed))
    for page in written:
        assert (out / page).read_text() == (ROOT / "docs" / page).read_text(), page


def test_example_report_is_rebuilt_from_the_committed_records(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "report"
    assert report.main(["--results", str(tmp_path / "none"), "--out", str(out)]) == 0
    example = ROOT / "docs" / "example-report"
    assert (out / layout.REPORT).read_text() == (example / layout.REPORT).read_text()
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == sorted(p.name for p in (example / "figures").iterdir())


def test_every_committed_run_keeps_the_id_and_the_command_its_config_gives():
    """A record's id is the hash of its config: a field added to a config class since (at the
    value earlier runs had) must leave it unchanged, or every study would train again. Its
    command must train that config again: when a family's default changes, the commands of
    its earlier runs say the old value (``python -m experiments.report --save-records``)."""
    families = registry.families()
    checked = 0
    for path in sorted((ROOT / "docs" / "records").glob("**/*.jsonl.gz")):
        for record in archive.read_archived(path):
            if record.family in families:
                run = families[record.family].from_dict(record.config)
                assert run.run_id == record.run_id, (path, record.run_id)
                if record.framework == "pytorch":  # the plain PyTorch loop of its study's rows
                    study = path.parent.name
                    line = f"python -m experiments.reproduce {study} --pytorch --seeds 1"
                    assert record.command == f"{line} --first-seed {record.seed}", path
                else:
                    assert record.command == families[record.family].command_for(run), path
                checked += 1
    assert checked > 100
