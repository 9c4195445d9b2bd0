"""One registry for built-in restorers and third-party plugins.

A plugin package declares an entry point in the group ``lowlight_benchmark.restorers``::

    [project.entry-points."lowlight_benchmark.restorers"]
    my-method = "my_package:MyRestorer"

where ``MyRestorer`` subclasses :class:`restorers.Restorer`. It then appears in
``python -m benchmark list`` and runs with ``--restorers my-method``.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

from .base import Restorer, RestorerError

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


_BUILTIN: dict[str, Entry] = {}


def register(name: str, family: str | None = None, description: str | None = None, default: bool = True,
             **fixed):
    """Class decorator adding a built-in restorer; ``fixed`` keyword arguments make a named
    variant of the same class (e.g. an ablation). ``default`` puts it in the default run."""

    def decorate(cls):
        if name in _BUILTIN:
            raise RestorerError(f"restorer {name!r} registered twice")

        def factory(**kwargs):
            return cls(**fixed, **kwargs)

        ready = (lambda: cls.is_ready(**fixed)) if hasattr(cls, "is_ready") else (lambda: True)
        _BUILTIN[name] = Entry(name, factory, family or cls.family, description or cls.description, "built-in",
                               default, ready, learned=hasattr(cls, "checkpoint_for"))
        return cls

    return decorate


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
    _import_builtins()
    entries = dict(_BUILTIN)
    for name, entry in _plugins().items():
        entries.setdefault(name, entry)
    return entries


def default_names() -> list[str]:
    """Restorers of the default run: the built-ins flagged default whose checkpoints ship with the
    package (plugins are opt-in)."""
    _import_builtins()
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


def _import_builtins() -> None:
    # Importing a method's module registers it; kept here so `import restorers` stays light.
    from . import classical  # noqa: F401  (the order here is the order of `list` and of the default run)
    from . import sci  # noqa: F401
    from . import did  # noqa: F401
    from . import irsde  # noqa: F401
    from . import dtdm  # noqa: F401
    from . import ldm  # noqa: F401
