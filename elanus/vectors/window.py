"""Score windows: range search and search-iterator bounds, in Milvus's semantics.

A window keeps only hits whose score lies between two bounds. For distances
(L2, HAMMING, JACCARD; smaller is better) Milvus's range search keeps
``range_filter <= d < radius``; for similarities (IP, COSINE) it keeps
``radius < s <= range_filter``. A search iterator continues after the last score
it returned, so it keeps only hits strictly worse than ``after``.

FAISS answers top-k, not windows, so a windowed search asks for more and more
candidates (see :func:`probe_windowed`) until each query has ``k`` admitted hits
or its worst candidate already lies past the window's far end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from elanus.vectors.spec import larger_is_better

# Bound on probing rounds: candidates double each round, so 2**40 rows is far beyond any segment.
MAX_PROBE_ROUNDS = 40


@dataclass(frozen=True)
class ScoreWindow:
    """Which scores a search may return; ``None`` leaves that side open."""

    metric: str
    radius: float | None = None  # the far end: scores must be better than this
    range_filter: float | None = None  # the near end: scores may be at most this good
    after: float | None = None  # iterator bound: scores must be strictly worse than this

    def admits(self, scores: np.ndarray) -> np.ndarray:
        """True where a score lies inside the window (NaN and padding never do)."""
        keep = np.isfinite(scores)
        if larger_is_better(self.metric):
            if self.radius is not None:
                keep &= scores > self.radius
            if self.range_filter is not None:
                keep &= scores <= self.range_filter
            if self.after is not None:
                keep &= scores < self.after
        else:
            if self.radius is not None:
                keep &= scores < self.radius
            if self.range_filter is not None:
                keep &= scores >= self.range_filter
            if self.after is not None:
                keep &= scores > self.after
        result: np.ndarray = keep
        return result

    def past_far_end(self, scores: np.ndarray) -> np.ndarray:
        """True where a score, and so every worse one, lies beyond the radius."""
        if self.radius is None:
            result: np.ndarray = ~np.isfinite(scores)
            return result
        if larger_is_better(self.metric):
            return ~(scores > self.radius)
        return ~(scores < self.radius)


def check_range_params(metric: str, radius: float | None, range_filter: float | None) -> None:
    """Milvus's rule: range_filter must lie on the near side of the radius."""
    if radius is None or range_filter is None:
        return
    if larger_is_better(metric) and not range_filter > radius:
        raise ValueError(
            f"range_filter ({range_filter}) must be greater than radius ({radius}) for {metric}"
        )
    if not larger_is_better(metric) and not range_filter < radius:
        raise ValueError(
            f"range_filter ({range_filter}) must be less than radius ({radius}) for {metric}"
        )


def probe_windowed(
    search: Callable[[int], tuple[np.ndarray, np.ndarray]],
    k: int,
    available: int,
    satisfied: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Top candidates, doubling how many are asked for until ``satisfied`` holds.

    ``search(n)`` returns (scores, offsets) of the best ``n`` candidates per
    query; ``satisfied(scores, offsets)`` says per query whether they suffice.
    Stops at the latest when every one of the ``available`` rows was a candidate.
    """
    wanted = min(k, available)
    scores, offsets = search(wanted)
    for _ in range(MAX_PROBE_ROUNDS):
        if wanted >= available or bool(satisfied(scores, offsets).all()):
            break
        wanted = min(wanted * 2, available)
        scores, offsets = search(wanted)
    return scores, offsets
