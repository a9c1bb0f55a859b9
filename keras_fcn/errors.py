"""The errors keras-fcn raises for bad input; commands print them as one line."""


class KerasFcnError(Exception):
    """Base class: an error whose message alone tells the user what to do."""


class ConfigError(KerasFcnError, ValueError):
    """An invalid configuration value, search space or command-line setting."""


class DataError(KerasFcnError):
    """A dataset that cannot be found, read or trusted."""


class ResultsError(KerasFcnError):
    """A results folder that cannot be written or read."""


class ChiefError(KerasFcnError):
    """A distributed search's chief that does not answer, or went away during a call."""


class FolderInUse(ResultsError):
    """A results folder another process is writing (:mod:`keras_fcn.lock`).

    Attributes:
        owner: the process holding the folder's lock, as its lock file names it.
    """

    def __init__(self, message: str, owner: object = None) -> None:
        super().__init__(message)
        self.owner = owner
