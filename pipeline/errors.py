"""Errors a user meets: each carries one clear sentence, shown without a traceback."""


class PipelineError(Exception):
    """An expected failure with a message meant for the person running the command."""

    exit_code = 1


class UsageError(PipelineError):
    """The command was asked for something it cannot do as asked (bad option, missing setting)."""

    exit_code = 2


class WarehouseLockedError(PipelineError):
    """Another process holds the warehouse open for writing."""


class SourceUnavailableError(PipelineError):
    """PubMed (or the configured E-utilities server) could not be reached."""
