"""The two kinds of failure the application distinguishes.

A :class:`UserError` is the environment's fault: a missing file, a malformed team file, a model
that cannot be loaded, a server that is down. Its message is written for the person using the
app and is shown as it is, without a traceback. Any other exception is a bug in the application:
it is logged with its traceback and shown with the path of the log file.
"""


class UserError(Exception):
    """A failure caused by the environment or the user's input, with a message meant for them."""

    exit_code = 2


class NoDisplayError(UserError):
    """The GUI was asked for but there is no display to show it on."""


class TeamFileError(UserError):
    """A team file is missing, unreadable or does not describe a valid team."""


class ModelError(UserError):
    """A model cannot be found, loaded or asked for output."""
