"""Errors a user can hit. Each says what happened and what to do; the CLI prints the
message on one line (no traceback) and exits with `exit_code`."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDING = 1  # drift found, alert fired, skew above tolerance
EXIT_ERROR = 2  # usage, connection, bad input


class PredwatchError(Exception):
    """Base of every error predwatch reports to a user."""

    exit_code = EXIT_ERROR


class ConfigError(PredwatchError):
    """Invalid configuration (options, environment variables, files)."""


class ConnectionFailed(PredwatchError):
    """Elasticsearch could not be reached, refused the credentials or the certificate."""


class LocalNodeError(PredwatchError):
    """The local development node could not be fetched, started or stopped."""
