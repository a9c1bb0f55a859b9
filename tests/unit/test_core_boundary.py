"""The library is the product: nothing under ``keras_fcn/`` names a command or parses its
arguments.

The commands (``experiments/``) import the library, never the other way round; how a run is
repeated is either a family's declared command module or text the caller passes in, rendered
and read back as data by :mod:`keras_fcn.commands`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import keras_fcn

CORE = Path(keras_fcn.__file__).parent
MODULES = sorted(CORE.rglob("*.py"))


def _imported(tree: ast.AST) -> list[str]:
    """Every module name an ``import`` or ``from ... import`` statement names."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _crossings(path: Path) -> list[str]:
    """What in one module crosses from the library into the commands."""
    text = path.read_text(encoding="utf-8")
    found = ["names `python -m experiments`"] if "python -m experiments" in text else []
    for name in _imported(ast.parse(text, filename=str(path))):
        top = name.split(".")[0]
        if top in ("argparse", "experiments"):
            found.append(f"imports {name}")
    return found


def test_the_core_is_found():
    assert CORE / "api.py" in MODULES and len(MODULES) > 20


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(CORE).as_posix())
def test_no_core_module_names_or_parses_a_command(path):
    assert _crossings(path) == []


def test_the_check_catches_each_crossing(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Run `python -m experiments.report`."""\n'
        "import argparse\n"
        "from experiments._cli import Parser\n"
        "def f():\n"
        "    import experiments.report\n"
    )
    assert _crossings(bad) == [
        "names `python -m experiments`",
        "imports argparse",
        "imports experiments._cli",
        "imports experiments.report",
    ]


def test_the_space_package_knows_nothing_of_kerastuner():
    """The space is data: its modules import no framework, and the ``Space`` module does not
    import the adapter that declares it on KerasTuner (``hp`` imports ``Space``, one way)."""
    imported = {
        path.name: _imported(ast.parse(path.read_text(encoding="utf-8")))
        for path in (CORE / "space").glob("*.py")
    }
    assert "keras_fcn.space.space" in imported["hp.py"]
    assert not [name for name in imported["space.py"] if name.startswith("keras_fcn.space.hp")]
    frameworks = [
        name
        for names in imported.values()
        for name in names
        if name.split(".")[0] in ("tensorflow", "keras", "keras_tuner")
    ]
    assert frameworks == []
