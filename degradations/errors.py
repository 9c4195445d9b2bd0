class DegradationError(ValueError):
    """Invalid degradation parameters or input; the message is meant for the user."""
