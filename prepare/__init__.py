"""prepare/: downloaded audio (or a ROOT/<label>/<files> folder) -> a balanced, leakage-free 16 kHz DatasetDict.

Example::

    python -m prepare --raw demo_out/raw --out demo_out/dataset --clip-seconds 5

    from prepare import prepare_dataset
    stats = prepare_dataset(raw=["demo_out/raw"], out="demo_out/dataset")
"""

from prepare.build import prepare_dataset, summary_text
from prepare.config import PrepareConfig

__all__ = ["PrepareConfig", "prepare_dataset", "summary_text"]
