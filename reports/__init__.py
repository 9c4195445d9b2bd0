"""Reports: a run folder's tables -> PNG figures -> one self-contained report.html.

Everything is computed from the run's ``samples.parquet`` and ``summary.csv`` (and
``config.json`` for the configuration section); nothing is recomputed from images except the
example strips, which read the PNGs the runner saved. ``reports`` never imports ``benchmark``.
"""
from .html import write_report

__all__ = ["write_report"]
