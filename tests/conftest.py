import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BENCHMARK_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
STR_ROOT = os.path.join(SHARED, "data", "str")
SCI_OFFICIAL = os.path.join(SHARED, "weights", "sci_official")

needs_str = pytest.mark.skipif(not os.path.isdir(STR_ROOT),
                               reason=f"shared STR data not found at {STR_ROOT} (set BENCHMARK_SHARED)")
needs_sci_official = pytest.mark.skipif(not os.path.isdir(SCI_OFFICIAL),
                                        reason=f"official SCI weights not found at {SCI_OFFICIAL}")


@pytest.fixture(scope="session")
def synth_images():
    from benchmark.datasets import synth

    return [synth.render(i) for i in range(16)]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
