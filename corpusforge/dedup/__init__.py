"""Near-duplicate detection, runner-free: MinHash signatures (:mod:`.minhash`), LSH bands and
similarity estimates (:mod:`.lsh`), clusters and decisions (:mod:`.near`). Exact dedup lives in
``corpusforge.transforms.dedup``; the corpus-wide Beam steps in ``corpusforge.beam``."""

from corpusforge.dedup.lsh import LshBands, similarity
from corpusforge.dedup.minhash import MinHasher, shingles
from corpusforge.dedup.near import NearDeduplicator, NearDedupParams, UnionFind

__all__ = ["LshBands", "MinHasher", "NearDedupParams", "NearDeduplicator", "UnionFind", "shingles", "similarity"]
