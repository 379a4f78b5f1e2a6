"""Byte-budget sampling statistics, runner-free: per language, the normalised bytes in each of
``HASH_BUCKETS`` slices of u = hash(seed, id), from which a plan picks the u below which a
language's records add up to its target; and temperature-sampling targets. The ``sample`` stage
(:mod:`corpusforge.transforms.sampling`) plans and decides from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import unit_hashes
from corpusforge.premium.stats import UNKNOWN_LANG, LanguageStats, milli_bytes

HASH_BUCKETS = 1024


@dataclass
class SamplingStats:
    """Phase one: :class:`LanguageStats` plus, per language, integer milli-bytes per slice of
    u = hash(seed, id). Mergeable in any order with the same result (integer sums)."""

    seed: int = 0
    languages: LanguageStats = field(default_factory=LanguageStats)
    histograms: dict[str, np.ndarray] = field(default_factory=dict)

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        langs = np.asarray(segment_languages(batch), dtype=object)
        self.languages.add_batch(batch)
        buckets = np.minimum((unit_hashes(self.seed, batch.column("id").to_pylist()) * HASH_BUCKETS).astype(np.int64), HASH_BUCKETS - 1)
        weights = milli_bytes(batch.column("norm_bytes")).to_numpy(zero_copy_only=False)
        for lang in set(langs.tolist()):
            mask = langs == lang
            counts = np.bincount(buckets[mask], weights=weights[mask], minlength=HASH_BUCKETS).round().astype(np.int64)
            self._add_histogram(lang, counts)

    def _add_histogram(self, lang: str, counts: np.ndarray) -> None:
        if lang in self.histograms:
            self.histograms[lang] = self.histograms[lang] + counts
        else:
            self.histograms[lang] = counts

    def merge(self, other: SamplingStats) -> SamplingStats:
        """Add ``other`` into this one (in place) and return it."""
        if other.seed != self.seed:
            raise ValueError(f"cannot merge sampling statistics of seeds {self.seed} and {other.seed}")
        self.languages.merge(other.languages)
        for lang, counts in other.histograms.items():
            self._add_histogram(lang, counts)
        return self

    def threshold(self, lang: str, fraction: float) -> float:
        """The u below which records of ``lang`` hold ``fraction`` of its normalised bytes
        (linear within the slice where the running sum crosses it)."""
        counts = self.histograms.get(lang)
        if counts is None or fraction <= 0 or not counts.sum():
            return max(fraction, 0.0)
        wanted = fraction * counts.sum()
        cumulative = np.cumsum(counts)
        bucket = int(np.searchsorted(cumulative, wanted))
        if bucket >= HASH_BUCKETS:
            return 1.0
        before = cumulative[bucket - 1] if bucket else 0
        within = (wanted - before) / counts[bucket] if counts[bucket] else 1.0
        return (bucket + within) / HASH_BUCKETS


def segment_languages(batch: pa.RecordBatch | pa.Table) -> list[str]:
    """Each row's language (``und`` when unknown); refuses what is not a segment batch."""
    if "text" not in batch.schema.names:
        raise ValueError("byte-budget sampling works on segment records (a text column)")
    if "lang" not in batch.schema.names:
        return [UNKNOWN_LANG] * batch.num_rows
    return pc.fill_null(batch.column("lang"), UNKNOWN_LANG).to_pylist()


def temperature_targets(
    sizes: dict[str, float], temperature: float, *, total_norm_bytes: float | None = None, max_repeat: float = 1.0
) -> dict[str, float]:
    """Normalised bytes wanted per language under temperature sampling (see the module
    docstring): ``total_norm_bytes`` in all if given, else the largest mixture reachable within
    ``max_repeat`` and never larger than the input."""
    present = {lang: n for lang, n in sizes.items() if n > 0}
    total = sum(present.values())
    if not total:
        return dict(sizes)
    weights = {lang: (n / total) ** temperature for lang, n in present.items()}
    norm = sum(weights.values())
    shares = {lang: w / norm for lang, w in weights.items()}
    budget = total_norm_bytes
    if budget is None:
        budget = min(total, min(max_repeat * present[lang] / share for lang, share in shares.items()))
    return {lang: shares.get(lang, 0.0) * budget for lang in sizes}
