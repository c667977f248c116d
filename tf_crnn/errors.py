"""The project's own error types, so callers can tell user mistakes from bugs."""


class TfCrnnError(Exception):
    """Base class of every error a user can act on (bad config, bad data, bad alphabet)."""


class ConfigError(TfCrnnError, ValueError):
    """A configuration value is missing, of the wrong type, or inconsistent with another."""


class AlphabetError(TfCrnnError, ValueError):
    """An alphabet lookup file is unreadable or inconsistent (duplicate codes, blank collision)."""


class DataError(TfCrnnError, ValueError):
    """Input rows or images cannot be used; the message names file, line and reason."""


class TrainingError(TfCrnnError, RuntimeError):
    """Training cannot go on (e.g. too many batches in a row with a non-finite loss)."""


class StorageError(TfCrnnError, OSError):
    """A checkpoint, export or report could not be written (e.g. the disk is full)."""
