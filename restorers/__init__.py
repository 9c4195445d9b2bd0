"""Restorers: ``restore(x: Tensor[N, 3, H, W] in [0, 1]) -> same shape in [0, 1]``.

>>> from restorers import load
>>> out = load("identity").restore(batch)

Each method module lists its names in a table `VARIANTS` that :mod:`restorers.registry` reads; third-party methods join through the
entry-point group ``lowlight_benchmark.restorers``. This package never imports ``benchmark``.
"""
from .base import Restorer, RestorerError, Variant, check_batch
from .errors import RestorerWarning
from .registry import ENTRY_POINT_GROUP, available, load

__all__ = ["Restorer", "RestorerError", "RestorerWarning", "check_batch", "ENTRY_POINT_GROUP", "available", "load", "Variant"]
