"""The one exception type for mistakes a user can fix.

Every package raises ``UserError`` (or a subclass) with a one-line message that
names the thing at fault and what was expected; the CLI prints that line and
exits non-zero without a traceback.  ``ValueError`` is its base so that library
callers can catch it the usual way.
"""


class UserError(ValueError):
    """Bad input: a path, a config value, a shape, a file's contents."""


class ConfigError(UserError):
    """A configuration key or value is invalid."""
