"""One registry for built-in restorers and third-party plugins.

A plugin package declares an entry point in the group ``lowlight_benchmark.restorers``::

    [project.entry-points."lowlight_benchmark.restorers"]
    my-method = "my_package:MyRestorer"

where ``MyRestorer`` subclasses :class:`restorers.Restorer`. It then appears in
``python -m benchmark list`` and runs with ``--restorers my-method``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

from .base import Restorer, RestorerError, Variant

ENTRY_POINT_GROUP = "lowlight_benchmark.restorers"


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Callable[..., Restorer]
    family: str
    description: str
    origin: str  # "built-in" or the plugin's distribution name
    default: bool = False  # part of the default `python -m benchmark run`
    ready: Callable[[], bool] = lambda: True  # can it run now (e.g. its checkpoint is shipped)?
    learned: bool = False  # loads a checkpoint (and so accepts checkpoint_dir)


# The method modules, in the order of `list` and of the default run. Each lists its restorer names in
# one table, ``VARIANTS``; importing them here (not at import time) keeps `import restorers` light.
METHOD_MODULES = ("classical", "sci", "did", "irsde", "dtdm", "ldm")
_BUILTIN: dict[str, Entry] = {}
_VARIANTS: dict[str, Variant] = {}


def _entry(variant: Variant) -> Entry:
    cls, options = variant.restorer, dict(variant.options)
    if variant.trains is not None and variant.name != cls.name:
        options["variant"] = variant.name  # loads its own checkpoint

    def factory(**kwargs):
        return cls(**options, **kwargs)

    ready = (lambda: cls.is_ready(**options)) if hasattr(cls, "is_ready") else (lambda: True)
    return Entry(variant.name, factory, cls.family, variant.description, "built-in", variant.default, ready,
                 learned=hasattr(cls, "checkpoint_for"))


def builtin_variants() -> dict[str, Variant]:
    """Every built-in restorer name and its declaration."""
    if not _VARIANTS:
        for module_name in METHOD_MODULES:
            for variant in importlib.import_module(f"{__package__}.{module_name}").VARIANTS:
                if variant.name in _VARIANTS:
                    raise RestorerError(f"restorer {variant.name!r} declared twice")
                _VARIANTS[variant.name] = variant
        _BUILTIN.update((name, _entry(v)) for name, v in _VARIANTS.items())
    return _VARIANTS


def _plugins() -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        origin = f"plugin {dist.name}" if dist is not None else "plugin"

        def factory(_ep=ep, **kwargs):
            try:
                cls = _ep.load()
            except Exception as e:  # a broken plugin must not take the suite down
                raise RestorerError(f"plugin restorer {_ep.name!r} failed to import: {e}") from None
            return cls(**kwargs)

        found[ep.name] = Entry(ep.name, factory, "plugin", f"from {ep.value}", origin)
    return found


def available() -> dict[str, Entry]:
    """All restorers by name: built-ins first; a plugin never shadows a built-in."""
    builtin_variants()
    entries = dict(_BUILTIN)
    for name, entry in _plugins().items():
        entries.setdefault(name, entry)
    return entries


def default_names() -> list[str]:
    """Restorers of the default run: the built-ins flagged default whose checkpoints ship with the
    package (plugins are opt-in)."""
    builtin_variants()
    return [name for name, entry in _BUILTIN.items() if entry.default and entry.ready()]


def load(name: str, device: str = "cpu", preset: str | None = None, checkpoint_dir: str | None = None,
         **kwargs) -> Restorer:
    """Create a restorer by name, e.g. ``load("sci").restore(batch)``. Learned restorers look for
    their checkpoint in ``checkpoint_dir`` (or ``$BENCHMARK_CHECKPOINTS``) before the shipped one."""
    entries = available()
    if name not in entries:
        raise RestorerError(f"unknown restorer {name!r}; available: {', '.join(entries)}")
    if checkpoint_dir is not None and entries[name].learned:
        kwargs["checkpoint_dir"] = checkpoint_dir
    restorer = entries[name].factory(device=device, preset=preset, **kwargs)
    if not isinstance(restorer, Restorer):
        raise RestorerError(f"restorer {name!r} is a {type(restorer).__name__}, not a restorers.Restorer")
    restorer.name = name  # a variant reports its registered name, not its class's
    return restorer
