"""MinHash signatures of texts' word n-gram sets, runner-free.

Shingles are the text's word n-grams (``corpusforge.words``: words in spaced scripts, single
characters in Han, Kana, Thai and the other unspaced scripts, so there they are character
n-grams); a text with fewer than ``ngram`` words has its whole word sequence as one shingle, and
a text without words has none (it is never a near-duplicate). Two methods give signatures:

- ``rensa`` (default): rensa's Rust MinHash over the shingle strings, one call per batch;
- ``numpy``: a 64-bit blake2b per shingle, then ``num_perm`` multiply-shift hashes vectorised
  over the whole batch (the scheme datatrove uses, without its sha1).

Both are deterministic for a seed on every machine and process; they give different
signatures, so one run uses one method. ``benchmarks/near_dedup_quality.py`` measures them
(and datasketch) side by side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from corpusforge.words import words

Method = Literal["rensa", "numpy"]
EMPTY = 0xFFFFFFFF  # a signature value no shingle reaches: the signature of an empty set


def shingles(tokens: Sequence[str], ngram: int) -> list[str]:
    """Distinct word ``ngram``-grams of ``tokens`` joined by spaces, in first-seen order; fewer
    tokens than ``ngram``: the whole sequence as one shingle; none: no shingle."""
    if len(tokens) < ngram:
        return [" ".join(tokens)] if tokens else []
    return list(dict.fromkeys(" ".join(tokens[i : i + ngram]) for i in range(len(tokens) - ngram + 1)))


@dataclass(frozen=True)
class MinHasher:
    """MinHash signatures, ``num_perm`` uint32 values per text, of word ``ngram`` shingles.

    - ``num_perm``: signature length; the similarity estimate's standard error is
      ``sqrt(s(1-s)/num_perm)`` (0.035 at s = 0.8 with 128).
    - ``ngram``: words per shingle (5 for documents, 2-3 for short sentences).
    - ``seed``: the hash family; the same seed gives the same signatures everywhere.
    - ``method``: ``rensa`` or ``numpy`` (see the module docstring).
    """

    num_perm: int = 128
    ngram: int = 5
    seed: int = 1
    method: Method = "rensa"

    def __post_init__(self) -> None:
        if self.num_perm < 1 or self.ngram < 1:
            raise ValueError(f"num_perm and ngram must be at least 1, not {self.num_perm} and {self.ngram}")
        if self.method not in ("rensa", "numpy"):
            raise ValueError(f"method must be 'rensa' or 'numpy', not {self.method!r}")

    def shingle_sets(self, texts: Iterable[str]) -> list[list[str]]:
        """Each text's shingles (see :func:`shingles`)."""
        return [shingles(words(text), self.ngram) for text in texts]

    def signatures(self, texts: Iterable[str]) -> np.ndarray:
        """Signatures of ``texts``: shape (n, num_perm) uint32; a text without shingles gets
        all :data:`EMPTY` values."""
        return self.sign_shingles(self.shingle_sets(texts))

    def sign_shingles(self, sets: Sequence[Sequence[str]]) -> np.ndarray:
        """Signatures of shingle sets (strings), shape (n, num_perm) uint32."""
        if not sets:
            return np.empty((0, self.num_perm), np.uint32)
        if self.method == "rensa":
            from rensa import RMinHash

            rows = RMinHash.digest_matrix_from_token_sets(sets, num_perm=self.num_perm, seed=self.seed).to_rows()
            return np.asarray(rows, dtype=np.uint32).reshape(len(sets), self.num_perm)
        return self._numpy_signatures(sets)

    def _numpy_signatures(self, sets: Sequence[Sequence[str]]) -> np.ndarray:
        blake2b = hashlib.blake2b
        flat = b"".join(blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8).digest() for shingle_set in sets for s in shingle_set)
        hashes = np.frombuffer(flat, dtype=np.uint64)
        counts = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        out = np.full((len(sets), self.num_perm), EMPTY, dtype=np.uint32)
        if not len(hashes):
            return out
        rng = np.random.default_rng(self.seed)
        a = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) | np.uint64(1)
        b = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)
        step = 1 << 14  # shingles per block: (step, num_perm) uint64 temporaries stay ~16 MiB
        rows = np.repeat(np.arange(len(sets)), counts)
        with np.errstate(over="ignore"):
            for start in range(0, len(hashes), step):
                block = hashes[start : start + step]
                values = ((block[:, None] * a + b) >> np.uint64(32)).astype(np.uint32)
                _min_into(out, rows[start : start + step], values)
        return out


def _min_into(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``out[r] = min(out[r], values[i])`` for each i with rows[i] == r (rows sorted ascending)."""
    boundaries = np.flatnonzero(np.diff(rows)) + 1
    starts = np.concatenate(([0], boundaries))
    reduced = np.minimum.reduceat(values, starts, axis=0)
    targets = rows[starts]
    out[targets] = np.minimum(out[targets], reduced)
