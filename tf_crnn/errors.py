"""The project's own error types, so callers can tell user mistakes from bugs, and the exit status of each.

Every expected failure is one of these; the command line prints it as one line,
``tf-crnn COMMAND: error: <what, where, what to do>``, and exits with the class's status (the table of
docs/reliability.md, "Exit status"). Anything else is a bug: one line too, status 70, and the
traceback only with ``--debug``.
"""


class TfCrnnError(Exception):
    """Base class of every error a user can act on (bad config, bad data, bad alphabet)."""

    exit_status = 1


class ConfigError(TfCrnnError, ValueError):
    """A configuration value is missing, of the wrong type, or inconsistent with another."""

    exit_status = 4


class DataError(TfCrnnError, ValueError):
    """Input rows or images cannot be used; the message names file, line and reason."""

    exit_status = 5


class AlphabetError(TfCrnnError, ValueError):
    """An alphabet lookup file is unreadable or inconsistent (duplicate codes, blank collision)."""

    exit_status = 6


class ModelError(TfCrnnError):
    """An exported model or a checkpoint is missing, damaged or not a tf-crnn model."""

    exit_status = 7


class StorageError(TfCrnnError, OSError):
    """A file or folder could not be read or written (permissions, a full disk); what was kept is said."""

    exit_status = 8


class TrainingError(TfCrnnError, RuntimeError):
    """Training cannot go on (e.g. too many batches in a row with a non-finite loss, a lost worker)."""

    exit_status = 9


#: Some input files could not be read: the others were processed and the skipped ones are listed.
PARTIAL_STATUS = 10
#: An unexpected failure (a bug): please report it with the traceback of ``--debug``.
INTERNAL_STATUS = 70
#: Stopped by Ctrl-C (130) or SIGTERM (143) after saving what could be saved.
INTERRUPTED_STATUS = 130
