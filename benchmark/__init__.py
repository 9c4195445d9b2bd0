"""Downstream text-recognition benchmark for low-light image restoration.

Command line: ``python -m benchmark run --grid brightness,noise`` (see ``--help``).
"""
__version__ = "0.2.0"  # part of every unit's fingerprint: bump when results change
