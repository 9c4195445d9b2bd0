"""The restorers package's error and warning types (the lowest module: everything else may import it)."""


class RestorerError(RuntimeError):
    """A restorer cannot be created or run; the message says what to do."""


class RestorerWarning(Warning):
    """A restorer runs, but its numbers need a caveat (e.g. an ablation trained unlike its method).
    Not a UserWarning, so the CLI, which silences its dependencies' chatter, still shows it."""
