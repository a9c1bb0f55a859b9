"""The results layout: one place says where each command writes and where the report reads."""

from __future__ import annotations

import pytest

from experiments import baselines, report, reproduce, tune
from keras_fcn import layout


def _default(parser, dest: str):
    return next(a.default for a in parser._actions if a.dest == dest)


def test_each_command_writes_into_its_own_folder_under_the_root():
    assert [layout.folder(name) for name in layout.FOLDERS] == [
        layout.ROOT / name for name in layout.FOLDERS
    ]
    assert layout.runs("baselines", "elsewhere").as_posix() == "elsewhere/baselines/runs.jsonl"
    assert layout.study("chenab").as_posix() == "results/reproduce/chenab"
    with pytest.raises(KeyError, match="known: fashion_dense"):
        layout.folder("nowhere")


def test_the_commands_default_folders_are_the_layouts():
    assert _default(tune.build_parser(), "out") == str(layout.folder("tune"))
    assert _default(baselines.build_parser(), "out") == str(layout.folder("baselines"))
    assert _default(reproduce.build_parser(), "out") == str(layout.folder("reproduce"))
    assert _default(reproduce.build_parser(), "baselines") == str(layout.runs("baselines"))
    assert _default(report.build_parser(), "results") == str(layout.ROOT)
    assert set(layout.SINGLE_RUNS) <= set(layout.FOLDERS)


def test_the_report_reads_finished_searches_and_full_studies(tmp_path):
    for name in ("b-search", "a-search", "unfinished"):
        (layout.folder("tune", tmp_path) / name).mkdir(parents=True)
    for name in ("b-search", "a-search"):
        (layout.folder("tune", tmp_path) / name / layout.SEARCH_SUMMARY).write_text("{}")
    for name in ("chenab", "chenab-quick", "lenet"):
        layout.study(name, tmp_path).mkdir(parents=True)
        (layout.study(name, tmp_path) / layout.SIDE_BY_SIDE).write_text("")
    assert [p.name for p in layout.searches(tmp_path)] == ["a-search", "b-search"]
    assert [p.name for p in layout.studies(tmp_path)] == ["chenab", "lenet"]


def test_quick_and_grid_runs_have_folders_of_their_own():
    assert layout.variant("chenab") == "chenab"
    assert layout.variant("chenab", quick=True, grid=True) == "chenab-quick-grid"
    assert layout.study("chenab", "r", grid=True).as_posix() == "r/reproduce/chenab-grid"
    assert layout.is_quick("r/reproduce/chenab-quick/runs.jsonl")
    assert layout.is_quick("r/baselines-quick/runs.jsonl")
    assert not layout.is_quick("r/reproduce/chenab/runs.jsonl")


@pytest.mark.parametrize("family", ["dense", "lenet"])
def test_a_familys_command_writes_into_the_folder_of_its_name(family):
    from keras_fcn.registry import get_family

    module = get_family(family).command
    folder = layout.command_folder(module, "r")
    assert folder.parent.as_posix() == "r" and folder.name in layout.SINGLE_RUNS
    assert module.endswith(f".{folder.name}")
    with pytest.raises(KeyError, match="no results folder"):
        layout.command_folder("experiments.nowhere")
