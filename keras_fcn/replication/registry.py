"""The published studies by name: the modules of ``studies/``, and of any extra folder.

A study is one module that declares ``PROTOCOL`` (a :class:`Protocol`), with the CSV of its
published numbers (``PROTOCOL.published``) beside it. The package's studies are the modules
of :mod:`keras_fcn.replication.studies`; a folder of more such modules is added with
``all_studies(folders=...)`` or the ``KERAS_FCN_STUDIES`` environment variable (folders
joined by ``os.pathsep``), so that a study can be registered without writing into the
package. Modules whose name starts with ``_`` are not studies.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from keras_fcn.errors import ConfigError
from keras_fcn.replication.protocol import Protocol

STUDIES_DIR = Path(__file__).parent / "studies"
"""The package's study modules and their CSVs."""

ENV_VAR = "KERAS_FCN_STUDIES"


def _module_names(folder: Path) -> list[str]:
    return [
        m.name
        for m in pkgutil.iter_modules([str(folder)])
        if not m.ispkg and not m.name.startswith("_")
    ]


def _load(folder: Path, name: str, index: int) -> ModuleType:
    """Import ``folder/name.py`` under a name of its own."""
    spec = importlib.util.spec_from_file_location(
        f"keras_fcn_extra_studies_{index}.{name}", folder / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _protocol(module: ModuleType) -> Protocol:
    """The module's ``PROTOCOL``, with its folder set; its CSV must be there."""
    protocol = getattr(module, "PROTOCOL", None)
    if not isinstance(protocol, Protocol):
        raise ConfigError(
            f"study module {module.__file__} declares no PROTOCOL (a keras_fcn.replication.Protocol)"
        )
    folder = Path(module.__file__).parent
    if not (folder / protocol.published).is_file():
        raise ConfigError(f"study {protocol.name!r}: no {protocol.published} in {folder}")
    return dataclasses.replace(protocol, folder=folder)


def study_folders(folders: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """The extra folders of study modules: ``folders``, then those of ``KERAS_FCN_STUDIES``."""
    extra = [Path(f) for f in folders]
    extra += [Path(f) for f in os.environ.get(ENV_VAR, "").split(os.pathsep) if f]
    for folder in extra:
        if not folder.is_dir():
            raise ConfigError(f"no folder of study modules at {folder}")
    return extra


def all_studies(folders: Sequence[str | os.PathLike] = ()) -> dict[str, Protocol]:
    """Study name -> protocol: the package's studies, then those of the extra folders."""
    package = f"{__package__}.studies"
    modules = [importlib.import_module(f"{package}.{n}") for n in _module_names(STUDIES_DIR)]
    for index, folder in enumerate(study_folders(folders)):
        modules += [_load(folder, n, index) for n in _module_names(folder)]
    found: dict[str, Protocol] = {}
    for module in modules:
        protocol = _protocol(module)
        if protocol.name in found:
            raise ConfigError(
                f"two studies are named {protocol.name!r}: in {found[protocol.name].folder} and in {protocol.folder}"
            )
        found[protocol.name] = protocol
    return found


def get_study(name: str, folders: Sequence[str | os.PathLike] = ()) -> Protocol:
    """The study called ``name``, as :func:`all_studies` finds it."""
    known = all_studies(folders)
    if name not in known:
        raise ConfigError(f"unknown study {name!r}; choose one of {', '.join(known)}")
    return known[name]
