"""One place that seeds every random number generator a stage uses: Python's, numpy's global one and torch's (CPU
and CUDA), through ``transformers.set_seed``, which training has always called.

Example::

    from common.seed import set_seed
    set_seed(0)     # training, evaluation and prediction then draw the same numbers on every run
"""

from __future__ import annotations


def set_seed(seed: int) -> None:
    """Seed ``random``, ``numpy.random`` and torch; stages call this instead of seeding libraries one by one."""
    from transformers import set_seed as seed_everything

    seed_everything(seed)
