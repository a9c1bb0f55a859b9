"""``docs/configs.md``: every config field with its type, default and meaning, from the classes.

The page is made from the dataclasses themselves: fields, types and defaults from
:func:`dataclasses.fields`, what a field means from its ``metadata["doc"]`` or else from the
``Attributes:`` section of its class's docstring, and each family's own training and data
defaults from its :class:`~keras_fcn.family.Family`. A test checks that the committed page
equals what this module writes.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keras_fcn.settings import flag_value


def configs_page(families: Mapping[str, Any]) -> str:
    """The configs page for ``families`` (family name -> :class:`keras_fcn.family.Family`)."""
    families = list(families.values())
    shared = list(dict.fromkeys(cls for f in families for cls in f.fields()[1:]))
    modules = dict.fromkeys(
        [*(f.config_cls.__module__ for f in families), *(c.__module__ for c in shared)]
    )
    lines = [
        "# Configs and model families",
        "",
        "Written by `python -m experiments.report --docs` from the config classes and the",
        "families: the fields, types and defaults are the dataclasses' own.",
        "",
        *[line for m in modules for line in (_module_line(m), "")],
        "Every field can be set on the command line with `--set FIELD=VALUE`",
        "([commands.md](commands.md)); which fields a search varies is declared in a search",
        "space ([spaces.md](spaces.md)).",
        "",
    ]
    lines += _families_section(families, shared)
    for f in families:
        lines += _class_section(f.config_cls, [])
    for cls in shared:
        lines += _class_section(cls, families)
    return "\n".join(lines)


def _module_line(name: str) -> str:
    """A module's file and its docstring, as one paragraph."""
    module = sys.modules[name]
    return f"`{_source(module)}`: {_markdown(_paragraphs(inspect.getdoc(module) or ''))}"


def _families_section(families: Sequence[Any], shared: Sequence[type]) -> list[str]:
    """One row per family: its model config, its space, its own training and data defaults."""
    module = sys.modules[type(families[0]).__module__] if families else None
    lines = ["## Model families", ""]
    if module is not None:
        lines += [_markdown(_paragraphs(inspect.getdoc(module) or "")), ""]
    header = " and ".join(f"`{cls.__name__}()`" for cls in shared)
    lines += [
        f"| family | model config | search space | training and data defaults that differ from {header} |",
        "|---|---|---|---|",
    ]
    for f in families:
        cls = f.config_cls
        own = [
            f"`{name}={_plain(value)}`"
            for part, base in zip((f.train, f.data), shared, strict=False)
            for name, value in _differences(part, base()).items()
        ]
        lines.append(
            f"| `{f.name}` | [`{cls.__name__}`](#{cls.__name__.lower()}) (`{_source(sys.modules[cls.__module__])}`) "
            f"| `{_relative(f.space_file, cls)}` | {', '.join(own) or 'none'} |"
        )
    return lines + [""]


def _class_section(cls: type, families: Sequence[Any]) -> list[str]:
    """A config class: what it is, then one row per field; with ``families``, one column of
    defaults per family."""
    docs = field_docs(cls)
    header = ["field", "type", "default", *(f"{f.name}" for f in families), "what it is"]
    lines = [
        f"## {cls.__name__}",
        "",
        f"`{_source(sys.modules[cls.__module__])}`: {_markdown(_summary(cls))}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    base = cls()
    for field in dataclasses.fields(cls):
        cells = [
            f"`{field.name}`",
            f"`{_cell(str(field.type))}`",
            _value(getattr(base, field.name)),
            *(_value(getattr(_family_part(f, cls), field.name)) for f in families),
            _cell(_markdown(docs.get(field.name, ""), cls)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _family_part(family: Any, cls: type) -> Any:
    """The family's default instance of ``cls`` (its training or data settings)."""
    return next(part for part in (family.train, family.data) if isinstance(part, cls))


def field_docs(cls: type) -> dict[str, str]:
    """What each field of a config class means: its ``metadata["doc"]``, or else its entry
    in the ``Attributes:`` section of the class's docstring (continuation lines joined)."""
    docs = _attributes(inspect.getdoc(cls) or "")
    for field in dataclasses.fields(cls):
        if "doc" in field.metadata:
            docs[field.name] = field.metadata["doc"]
    return docs


def _attributes(doc: str) -> dict[str, str]:
    """The ``name: text`` entries of a Google-style ``Attributes:`` section."""
    lines = doc.splitlines()
    if "Attributes:" not in lines:
        return {}
    docs: dict[str, str] = {}
    indent, name = None, None
    for line in lines[lines.index("Attributes:") + 1 :]:
        if not line.strip():
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        entry = re.match(r"(\w+): ?(.*)", line.strip())
        if depth == indent and entry:
            name = entry.group(1)
            docs[name] = entry.group(2)
        elif name is not None:
            docs[name] += " " + line.strip()
    return docs


def _summary(cls: type) -> str:
    """A class docstring's text before its ``Attributes:`` section, as one paragraph."""
    doc = (inspect.getdoc(cls) or "").split("Attributes:")[0]
    return _paragraphs(doc)


def _paragraphs(doc: str) -> str:
    """Paragraphs of a docstring with their lines joined, separated by one space."""
    blocks = [" ".join(line.strip() for line in b.splitlines()) for b in doc.split("\n\n")]
    return " ".join(b for b in blocks if b)


def _markdown(text: str, cls: type | None = None) -> str:
    """Docstring markup as Markdown: ``code`` -> `code`, :role:`~a.b.C` -> `C`; a tuple of
    names that ``cls``'s module defines (``ACTIVATIONS``) is written out as its values."""
    namespace = vars(sys.modules[cls.__module__]) if cls is not None else {}

    def constant(match: re.Match) -> str:
        value = namespace.get(match.group(1))
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            return ", ".join(f"`{v}`" for v in value)
        return f"`{match.group(1)}`"

    text = re.sub(
        r":\w+:`(~?)([\w.]+)`",
        lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`",
        text,
    )
    text = re.sub(r"``([A-Z][A-Z0-9_]+)``", constant, text)
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _differences(config: Any, base: Any) -> dict[str, Any]:
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(base, f.name)
    }


def _plain(value: Any) -> str:
    """A default as ``--set`` takes it."""
    return flag_value(value)


def _value(value: Any) -> str:
    """A default as ``--set`` takes it, in code font."""
    return f"`{_plain(value)}`"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def _source(module: Any) -> str:
    """A module's file, relative to the folder holding its top-level package."""
    return module.__name__.replace(".", "/") + ".py"


def _relative(path: Path, cls: type) -> str:
    """``path`` relative to the folder holding the top-level package of ``cls``."""
    top = sys.modules[cls.__module__.split(".")[0]]
    root = Path(top.__file__).parent.parent
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).name
