"""Reports: a run folder's tables -> PNG figures -> one self-contained report.html.

Everything is computed from the run's ``samples.parquet`` and ``summary.csv`` (and
``config.json`` for the configuration section); nothing is recomputed from images except the
example strips, which read the PNGs the runner saved. ``reports`` never imports ``benchmark``.
"""
__all__ = ["write_report"]


def __getattr__(name: str):
    # loaded on first use, so importing the tables layer (``reports.facts``, ``reports.tables``) leaves
    # matplotlib unloaded
    if name == "write_report":
        from .html import write_report

        return write_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
