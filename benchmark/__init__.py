"""Downstream text-recognition benchmark for low-light image restoration.

Command line: ``python -m benchmark run --grid brightness,noise`` (see ``--help``).
"""
__version__ = "0.1.0"
