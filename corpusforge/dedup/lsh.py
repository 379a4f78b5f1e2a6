"""LSH banding of MinHash signatures, the threshold curve it implies, and similarity estimates.

A signature of ``num_perm`` values is cut into ``bands`` bands of ``rows`` values; two texts are
candidates when any band is equal. For true Jaccard similarity ``s`` the chance of that is
``1 - (1 - s**rows)**bands``: an S-curve whose midpoint is near ``(1 / bands) ** (1 / rows)``.
The defaults (25 bands x 5 rows) give 0.99995 at s = 0.8, 0.99 at 0.7, 0.55 at 0.5 and 0.06 at
0.3: nearly every pair above the threshold becomes a candidate, and candidates are then kept
only when their estimated similarity (equal signature values / ``num_perm``) reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Odd 64-bit multipliers that mix a band's values into one key (wrapping arithmetic); any
# collision only adds a candidate, which verification then refuses.
_MIX = np.random.default_rng(0x5EED).integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)


@dataclass(frozen=True)
class LshBands:
    """``bands`` x ``rows`` banding of signatures of at least ``bands * rows`` values."""

    bands: int = 25
    rows: int = 5

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError(f"bands and rows must be at least 1, not {self.bands} x {self.rows}")
        if self.rows > len(_MIX):
            raise ValueError(f"rows must be at most {len(_MIX)}, not {self.rows}")

    @property
    def width(self) -> int:
        """Signature values the bands use."""
        return self.bands * self.rows

    def candidate_probability(self, similarity: float) -> float:
        """Chance that two texts of Jaccard ``similarity`` share at least one band."""
        return 1.0 - (1.0 - similarity**self.rows) ** self.bands

    @property
    def midpoint(self) -> float:
        """The similarity near which the candidate curve rises: ``(1 / bands) ** (1 / rows)``."""
        return float((1.0 / self.bands) ** (1.0 / self.rows))

    def keys(self, signatures: np.ndarray) -> np.ndarray:
        """Band keys, shape (n, bands) uint64, of signatures shaped (n, >= width) uint32."""
        if signatures.shape[1] < self.width:
            raise ValueError(f"signatures have {signatures.shape[1]} values; {self.bands} x {self.rows} bands need {self.width}")
        banded = signatures[:, : self.width].astype(np.uint64).reshape(len(signatures), self.bands, self.rows)
        with np.errstate(over="ignore"):
            mixed = (banded * _MIX[: self.rows]).sum(axis=2, dtype=np.uint64)
            return mixed ^ (mixed >> np.uint64(29))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures: the fraction of equal values (standard
    error ``sqrt(s(1-s)/num_perm)``: 0.035 at s = 0.8 with 128 values)."""
    return float(np.count_nonzero(a == b)) / len(a)
