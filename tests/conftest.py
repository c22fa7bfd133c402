"""Shared pytest setup: tests run from any folder and never touch the network."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "code") not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT / "code"))


def _share_the_cores():
    # Under pytest-xdist every worker is a process with its own torch and BLAS thread pools,
    # each as large as the machine. Two workers on two cores then run four threads that
    # spin against each other: a network chapter measured 35 s alone took 434 s inside the
    # claims run. Give each worker its share of the cores instead.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    share = max(1, (os.cpu_count() or 1) // workers)
    try:
        import torch

        torch.set_num_threads(share)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(share)
    except ImportError:
        pass


_share_the_cores()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "recorded: a claim about results recorded in results/full, not about what the code "
        "computes now (make mutate leaves these out)",
    )
