"""Stable hashes: every id, shard bucket and seeded draw in an output comes from here.

All are blake2b of UTF-8 text (lone surrogates kept, ``surrogatepass``), never Python's salted
``hash`` or ``random`` state, so the same input and seed give the same ids and choices on every
machine, Python version and worker order. Outputs depend on the exact bytes hashed: a change to
any function here changes written ids or draws and needs a new version of what uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

SEPARATOR = b"\x1f"  # between hashed parts (ASCII unit separator)


def stable_id(*parts: object) -> str:
    """A 128-bit hex id from the parts (e.g. source, file, line): same parts, same id, on any machine."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(str(part).encode("utf-8", "surrogatepass"))
        digest.update(SEPARATOR)
    return digest.hexdigest()


class IdPrefix:
    """:func:`stable_id` of shared leading parts and one last part (a file's rows: source, file,
    line): the same ids, with the shared parts hashed once rather than for every row."""

    def __init__(self, *parts: object):
        self._digest = hashlib.blake2b(digest_size=16)
        for part in parts:
            self._digest.update(str(part).encode("utf-8", "surrogatepass"))
            self._digest.update(SEPARATOR)

    def __call__(self, last: object) -> str:
        digest = self._digest.copy()
        digest.update(str(last).encode("utf-8", "surrogatepass"))
        digest.update(SEPARATOR)
        return digest.hexdigest()


def _uint64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def unit_hash(seed: int, record_id: str) -> float:
    """A uniform number in [0, 1) from (seed, id): the same on every machine and run."""
    return _uint64(f"{seed}\x1f{record_id}".encode("utf-8", "surrogatepass")) / 2**64


def unit_hashes(seed: int, record_ids: Sequence[str]) -> np.ndarray:
    """:func:`unit_hash` of each id, as float64."""
    return np.fromiter((unit_hash(seed, record_id) for record_id in record_ids), dtype=np.float64, count=len(record_ids))


def derived_seed(seed: int, name: str) -> int:
    """A 64-bit seed for one named part of a computation (a language's bootstrap), from the run's seed."""
    return _uint64(f"{seed}\x1f{name}".encode())


def hash_buckets(ids: pa.Array | pa.ChunkedArray, buckets: int) -> pa.Array:
    """Bucket of each id, ``blake2b(id) mod buckets``: the same on every machine and run
    (unlike Python's salted ``hash``). Per-row Python, about 1 µs a row."""
    return pa.array([_uint64(i.encode("utf-8", "surrogatepass")) % buckets for i in ids.to_pylist()], pa.int64())


class StableDraws:
    """Uniform draws in [0, 1) from blake2b(seed, record id, variant, what is drawn): the same
    on every machine and Python version."""

    def __init__(self, seed: int, record_id: str, variant: int = 0):
        self._prefix = stable_id(seed, record_id, variant)

    def uniform(self, *what: object) -> float:
        digest = hashlib.blake2b(digest_size=8)
        digest.update(self._prefix.encode())
        for part in what:
            digest.update(SEPARATOR + str(part).encode("utf-8", "surrogatepass"))
        return int.from_bytes(digest.digest(), "big") / 2.0**64

    def choice(self, options: Sequence, *what: object):
        return options[min(int(self.uniform(*what) * len(options)), len(options) - 1)]

    def sample(self, n: int, count: int, *what: object) -> list[int]:
        """``count`` of the indices ``0..n-1``, in index order."""
        return sorted(sorted(range(n), key=lambda i: self.uniform(*what, i))[:count])
