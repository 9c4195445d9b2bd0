"""Restorers: ``restore(x: Tensor[N, 3, H, W] in [0, 1]) -> same shape in [0, 1]``.

>>> from restorers import load
>>> out = load("identity").restore(batch)

Built-ins register themselves in :mod:`restorers.registry`; third-party methods join through the
entry-point group ``lowlight_benchmark.restorers``. This package never imports ``benchmark``.
"""
from .base import Restorer, RestorerError, check_batch
from .registry import ENTRY_POINT_GROUP, available, load, register

__all__ = ["Restorer", "RestorerError", "check_batch", "ENTRY_POINT_GROUP", "available", "load", "register"]
