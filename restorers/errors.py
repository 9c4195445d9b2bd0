"""The one error type of the restorers package (the lowest module: everything else may import it)."""


class RestorerError(RuntimeError):
    """A restorer cannot be created or run; the message says what to do."""
