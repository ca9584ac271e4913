"""The one exception type a user sees: a message that names the cause and the fix, printed on one line."""


class EdgebuildError(Exception):
    """An expected failure (bad input, missing tool, unsupported op). The CLI prints it on one line and exits 2."""
