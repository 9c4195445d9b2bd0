class BenchmarkError(Exception):
    """A problem with the user's request or data; the CLI prints it as one line and exits 2."""
