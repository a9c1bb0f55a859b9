"""Command lines as data: :class:`Command` renders one and parses one back.

Every line the project stores or prints to repeat a piece of work (a run record's
``command``, a search's ``summary.json``, the report's tables, the lock of a results folder)
is a :class:`Command` rendered; every place that reads such a line back parses it with
:meth:`Command.parse`, the one inverse. :func:`run_command` is the line that trains one run
of a family again: its family's command module, ``--dataset`` (unless Fashion-MNIST),
``--seed`` and a ``--set`` for every field that differs from the family's defaults.

The library names no command: a family declares its module as data
(:attr:`keras_fcn.family.Family.command`), and a caller passes the module of any other line.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from keras_fcn.errors import ConfigError
from keras_fcn.settings import flag_value, parse_assignment

if TYPE_CHECKING:
    from keras_fcn.family import Family, RunConfig

PYTHON = "python"
"""The interpreter every rendered line starts with."""

SET = "--set"
"""The option that sets one config field, ``--set FIELD=VALUE``."""

DEFAULT_DATASET = "fashion_mnist"
"""The dataset a family's command trains on when its line names none."""

MACHINE_OPTIONS = ("--out", "--data-dir")
"""Options that name folders of one machine, not what a command computes: a line kept to
repeat the work (a record's, a search's, a benchmark run's) leaves them out."""

Option = tuple[str, "str | None"]
"""One option of a line: its flag (``--seed``) and its value (None for a switch)."""


@dataclasses.dataclass(frozen=True)
class Command:
    """One command line, ``python -m MODULE ARGS... OPTIONS...``.

    The options keep their order, ``--set`` among them, because a line as typed may mix them
    (a search's ``--set`` between its other flags) and rendering it again must give the same
    text; :attr:`settings` reads the ``--set`` ones.

    Attributes:
        module: the module run by ``python -m`` (``experiments.fashion_dense``).
        args: the positional arguments, before every option (a study's name).
        options: ``(flag, value)`` pairs in order; a flag starts with ``--``; a switch
            (``--quick``) has the value None; ``--set`` options have ``FIELD=VALUE``.
    """

    module: str
    args: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "options", tuple((f, v) for f, v in self.options))
        if not self.module or self.module.startswith("-") or any(c.isspace() for c in self.module):
            raise ConfigError(f"module {self.module!r}: give a dotted module name")
        for arg in self.args:
            if arg.startswith("--"):
                raise ConfigError(f"argument {arg!r} looks like an option: give it in options")
        for flag, value in self.options:
            if not flag.startswith("--") or flag == "--":
                raise ConfigError(f"option {flag!r}: a flag starts with -- and has a name")
            if value is not None and value.startswith("--"):
                raise ConfigError(f"{flag} {value!r}: a value cannot start with --")

    @property
    def settings(self) -> dict[str, str]:
        """The ``--set FIELD=VALUE`` options as ``{FIELD: VALUE}``, later ones winning."""
        return dict(parse_assignment(value or "") for flag, value in self.options if flag == SET)

    def option(self, flag: str) -> str | None:
        """The value of the last ``flag`` option (None when absent or a switch)."""
        values = [value for f, value in self.options if f == flag]
        return values[-1] if values else None

    def has(self, flag: str) -> bool:
        """Whether the line carries ``flag``."""
        return any(f == flag for f, _ in self.options)

    def with_options(self, *options: Option) -> Command:
        """A copy with ``options`` appended."""
        return dataclasses.replace(self, options=self.options + tuple(options))

    def with_value(self, flag: str, value: str | None) -> Command:
        """A copy with the value of every ``flag`` option replaced, each in its place (none
        added when the line has none)."""
        options = tuple((f, value if f == flag else v) for f, v in self.options)
        return dataclasses.replace(self, options=options)

    def with_settings(self, settings: Mapping[str, Any]) -> Command:
        """A copy with a ``--set`` appended per setting, each value as ``--set`` takes it."""
        return self.with_options(*((SET, f"{k}={flag_value(v)}") for k, v in settings.items()))

    def without(self, *flags: str) -> Command:
        """A copy without the options named ``flags``, given as ``--flag VALUE`` or
        ``--flag=VALUE``."""
        kept = [o for o in self.options if o[0].split("=", 1)[0] not in flags]
        return dataclasses.replace(self, options=tuple(kept))

    def portable(self) -> Command:
        """A copy without the :data:`MACHINE_OPTIONS`: the line as another machine runs it."""
        return self.without(*MACHINE_OPTIONS)

    def without_settings(self, *names: str) -> Command:
        """A copy without the ``--set`` options of the fields ``names``."""
        kept = [
            (f, v) for f, v in self.options if f != SET or parse_assignment(v or "")[0] not in names
        ]
        return dataclasses.replace(self, options=tuple(kept))

    def words(self) -> list[str]:
        """The words after the module: the arguments, then each option's flag and value."""
        words = list(self.args)
        for flag, value in self.options:
            words += [flag] if value is None else [flag, value]
        return words

    def argv(self) -> list[str]:
        """The line as arguments of ``python``: ``["-m", MODULE, *words]``."""
        return ["-m", self.module, *self.words()]

    def render(self) -> str:
        """The line as a shell reads it: ``python -m MODULE ...``, each word quoted if needed."""
        return shlex.join([PYTHON, *self.argv()])

    def __str__(self) -> str:
        return self.render()

    @classmethod
    def from_argv(cls, module: str, argv: Sequence[str]) -> Command:
        """The command ``python -m module *argv``.

        Raises:
            ConfigError: an argument after the options, or a value starting with ``--``.
        """
        args: list[str] = []
        options: list[list[Any]] = []
        for word in argv:
            if word.startswith("--"):
                options.append([word, None])
            elif not options:
                args.append(word)
            elif options[-1][1] is None:
                options[-1][1] = word
            else:
                raise ConfigError(
                    f"{word!r} follows the value of {options[-1][0]}: write the positional "
                    "arguments first, and one value per option"
                )
        return cls(module, tuple(args), tuple((f, v) for f, v in options))

    @classmethod
    def parse(cls, line: str) -> Command:
        """The command a rendered line holds: the inverse of :meth:`render`.

        Raises:
            ConfigError: the line is not ``python -m MODULE ...``, is not valid shell
                quoting, or has an argument after its options.
        """
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise ConfigError(f"cannot read the command {line!r}: {exc}") from None
        if len(words) < 3 or words[:2] != [PYTHON, "-m"]:
            raise ConfigError(f"{line!r} is not a command line: expected 'python -m MODULE ...'")
        return cls.from_argv(words[2], words[3:])


def process_argv() -> list[str]:
    """This process's command as arguments of ``python``: ``-m MODULE ARGS`` when it was
    started as a module, else ``SCRIPT ARGS``; its words as typed, in their order."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return ["-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]]
    return list(sys.argv)


def process_line() -> str:
    """This process's command as it was typed, rendered as :meth:`Command.render` does."""
    return shlex.join([PYTHON, *process_argv()])


def run_command(family: Family, run: RunConfig) -> Command:
    """The one line that trains ``run`` again, whatever command first trained it.

    It is the family's :attr:`~keras_fcn.family.Family.command` with ``--dataset`` (unless
    Fashion-MNIST), ``--seed`` and a ``--set`` for every other field that differs from the
    family's defaults, so the line builds the same config but for the speed settings
    (:data:`keras_fcn.identity.SPEED_FIELDS`, which change no result and are left to the
    defaults of the day), and the record it writes has the same run id
    (:func:`run_settings` reads them back).
    """
    from keras_fcn.identity import SPEED_FIELDS

    default, values = family.run_config().values(), run.values()
    dataset, seed = values.pop("dataset"), values.pop("seed")
    options: list[Option] = [] if dataset == DEFAULT_DATASET else [("--dataset", dataset)]
    options.append(("--seed", str(seed)))
    changed = {
        name: value
        for name, value in values.items()
        if value != default[name] and name not in SPEED_FIELDS
    }
    return Command(family.command, (), tuple(options)).with_settings(changed)


def run_settings(command: Command) -> dict[str, str]:
    """The settings a family's command line sets, as strings: its dataset (Fashion-MNIST
    when it names none), its seed when it names one, and its ``--set`` fields; the inverse
    of :func:`run_command` (:func:`keras_fcn.registry.resolve_run` builds the run)."""
    seed = command.option("--seed")
    return {
        "dataset": command.option("--dataset") or DEFAULT_DATASET,
        **({} if seed is None else {"seed": seed}),
        **command.settings,
    }
