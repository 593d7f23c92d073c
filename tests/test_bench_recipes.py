"""bench.bench_recipes' paired comparison (the benchmark itself needs real weights and registry downloads: it runs
only as ``python -m bench --only recipes``)."""

import pytest

from bench.bench_recipes import paired_interval


def _runs(rows):
    return [{"video_correct": row} for row in rows]


def test_the_paired_interval_averages_seeds_before_resampling_videos():
    """Bugs it catches: pairing runs of different seeds, resampling clips or seeds instead of test recordings, or an
    interval that does not contain its own estimate."""
    same = _runs([[True, False, True, True]] * 3)
    assert paired_interval(same, same) == (0.0, 0.0, 0.0)
    better = _runs([[True] * 10] * 3)
    worse = _runs([[True] * 5 + [False] * 5, [True] * 6 + [False] * 4, [True] * 4 + [False] * 6])
    mean, low, high = paired_interval(better, worse)
    assert mean == pytest.approx(0.5) and 0 < low <= mean <= high <= 1
    # the same difference on one recording only: the bootstrap over recordings says it may be nothing
    mean, low, high = paired_interval(_runs([[True] + [True] * 9] * 3), _runs([[False] + [True] * 9] * 3))
    assert mean == pytest.approx(0.1) and low == 0.0


def test_the_clip_level_interval_resamples_recordings_with_all_their_clips():
    """Bug it catches: bootstrapping clips as if independent. Here one recording holds every differing clip: the
    clip-level interval must reach 0 (that recording may be left out), as the video-level one does."""
    clip_video = [0, 0, 0, 0, 1, 2, 3]
    a = [{"video_correct": [True] * 4, "clip_correct": [True] * 7, "clip_video": clip_video}] * 3
    b = [{"video_correct": [False, True, True, True], "clip_correct": [False] * 4 + [True] * 3,
          "clip_video": clip_video}] * 3
    mean, low, high = paired_interval(a, b, level="clip")
    assert mean == pytest.approx(4 / 7) and low == 0.0 and mean < high <= 1.0
