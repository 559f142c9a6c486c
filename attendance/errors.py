"""Domain errors, raised inside the library and translated at the edges (CLI exit codes, HTTP)."""


class AttendanceError(Exception):
    """A failure the user can act on; the CLI prints it and exits 1."""


class BadInput(AttendanceError):
    """The user's input (a file, an option, a config key) is wrong; the CLI exits 2."""


class ConfigError(BadInput):
    """The configuration is invalid; the message names the file and the key."""


class RecordNotFound(AttendanceError):
    """A record asked for by its code or id does not exist."""
