"""A complete third-party restorer: one class and one entry point (see pyproject.toml)."""
import torch

from restorers import Restorer


class GammaRestorer(Restorer):
    family = "plugin"
    description = "gamma 1/2.2 brightening (example plugin)"

    def restore(self, x: torch.Tensor, seeds=None) -> torch.Tensor:
        return x.clamp(0, 1) ** (1 / 2.2)
