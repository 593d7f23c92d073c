"""Test infrastructure shared by tests/, bench/ and demo/: a loopback media server with YouTube-like faults
(``testing.server``), synthetic media and listings (``testing.synth``), synthetic prepared datasets
(``testing.synthetic``) and tiny random models of every supported architecture (``testing.tiny_models``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root
SHARED = ROOT.parent / "shared"  # the team's shared folder beside the checkout (the real Kaggle listing)
