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


def as_interrupt(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM that `error` stands for, or None.

    A signal that lands while DuckDB runs a query does not come out as KeyboardInterrupt: DuckDB
    stops the query and raises RuntimeError('Query interrupted') (InterruptException in some
    versions) instead, which must still end a run as interrupted, not failed.
    """
    if isinstance(error, KeyboardInterrupt):
        return error
    from_duckdb = type(error).__name__ == "InterruptException" or (
        type(error) is RuntimeError and str(error) == "Query interrupted"
    )
    if not from_duckdb:
        return None
    interrupt = KeyboardInterrupt()
    interrupt.__cause__ = error
    return interrupt
