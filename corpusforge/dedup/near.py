"""Near-duplicate clusters, runner-free: what is compared (kind, scope, sides), candidate pairs
from LSH bands verified by their estimated similarity, connected components with a union-find,
and the decision per row. :class:`NearDeduplicator` runs it all in memory;
``corpusforge.beam.near_dedup.DeduplicateNear`` runs the same pieces across a whole corpus.

Rows are nodes named ``(id, source)``. Every cluster keeps one survivor, the smallest node (the
rule exact dedup uses: smallest id, then source), whatever the input order or batching; the
others are near-duplicates, counted as duplicates and listed in ``rejected/`` (reason
``near_duplicate``, the survivor and the estimated similarity to it in ``detail``). Survivors
carry ``dup_cluster_size``. Clusters are connected components of verified candidate pairs, so a
chain a~b~c is one cluster even when a and c are less similar than the threshold; the
similarity in ``detail`` is the row's own to the survivor, and may then be below it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from corpusforge.accounting import DUPLICATE_STORED, Tally
from corpusforge.dedup.lsh import LshBands, similarity
from corpusforge.dedup.minhash import Method, MinHasher, shingles
from corpusforge.records import Rejections, Split, empty_rejected, with_columns
from corpusforge.words import words

NEAR_DEDUP_STAGE = "near_dedup"
NEAR_DUPLICATE = "near_duplicate"
DUPLICATE = "duplicate"
CLUSTER_SIZE = pa.field(
    "dup_cluster_size",
    pa.int32(),
    nullable=True,
    metadata={"doc": "Rows in this row's near-duplicate cluster (1: none); only this survivor of them is written."},
)
Scope = Literal["lang", "source", "global"]
Sides = Literal["pair", "src", "tgt", "none"]
Node = tuple[str, str]  # (id, source)
# What a removed row or a survivor is told: (survivor node, cluster size, similarity to it).
Decision = tuple[Node, int, float]
_SIDE_TAG = {"src": "s\x1f", "tgt": "t\x1f"}


@dataclass(frozen=True)
class NearDedupParams:
    """What near-dedup compares and when two rows are near-duplicates.

    - ``threshold``: estimated Jaccard similarity of shingle sets at which a candidate pair
      counts (then the pair is one cluster).
    - ``ngram``, ``num_perm``, ``seed``, ``method``: the signatures (:class:`MinHasher`).
    - ``bands`` x ``rows``: the LSH banding (:class:`LshBands`; its docstring has the curve).
    - ``scope``: ``lang`` compares rows of one language (bitext: one language pair),
      ``source`` rows of one input, ``global`` all rows of a kind.
    - ``bitext``: ``pair`` signs both sides of a pair together (a pair is a near-duplicate
      only when both sides are), ``src`` or ``tgt`` one side, ``none`` leaves bitext alone.
    """

    threshold: float = 0.8
    ngram: int = 5
    num_perm: int = 128
    bands: int = 25
    rows: int = 5
    seed: int = 1
    method: Method = "rensa"
    scope: Scope = "lang"
    bitext: Sides = "pair"

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {self.threshold}")
        if self.bands > 63:  # the Beam transform keeps a row's shared bands as bits of an int64
            raise ValueError(f"bands must be at most 63, not {self.bands}")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) must not exceed num_perm ({self.num_perm})")
        _ = (self.hasher, self.lsh)  # their own checks: num_perm, ngram, method, bands, rows

    @property
    def hasher(self) -> MinHasher:
        return MinHasher(num_perm=self.num_perm, ngram=self.ngram, seed=self.seed, method=self.method)

    @property
    def lsh(self) -> LshBands:
        return LshBands(bands=self.bands, rows=self.rows)

    def applies_to(self, kind: str) -> bool:
        """Segments always; bitext unless ``bitext: none``; code-switched records never (their
        variants of one sentence are near-duplicates by design)."""
        return kind == "segment" or (kind == "bitext" and self.bitext != "none")


def node_keys(batch: pa.RecordBatch) -> list[Node]:
    return list(zip(batch.column("id").to_pylist(), batch.column("source").to_pylist()))


class RowSigner:
    """Per batch of ``kind``: each row's node, bucket (what it may be compared with) and
    signature; rows without shingles get no signature and are never near-duplicates."""

    def __init__(self, params: NearDedupParams, kind: str):
        if not params.applies_to(kind):
            raise ValueError(f"near-dedup does not apply to {kind} records with these parameters")
        self.params, self.kind, self._hasher = params, kind, params.hasher

    def buckets(self, batch: pa.RecordBatch) -> list[str]:
        scope, n = self.params.scope, batch.num_rows
        if scope == "global":
            return [""] * n
        if scope == "source":
            return batch.column("source").to_pylist()
        if self.kind == "bitext":
            return [f"{s or ''}\x1f{t or ''}" for s, t in zip(batch.column("src_lang").to_pylist(), batch.column("tgt_lang").to_pylist())]
        return [lang or "" for lang in batch.column("lang").to_pylist()] if "lang" in batch.schema.names else [""] * n

    def shingle_sets(self, batch: pa.RecordBatch) -> list[list[str]]:
        ngram = self.params.ngram
        if self.kind != "bitext":
            return [shingles(words(t), ngram) for t in batch.column("text").to_pylist()]
        sides = ("src", "tgt") if self.params.bitext == "pair" else (self.params.bitext,)
        columns = [(_SIDE_TAG[side], batch.column(f"{side}_text").to_pylist()) for side in sides]
        return [[tag + s for tag, texts in columns for s in shingles(words(texts[row] or ""), ngram)] for row in range(batch.num_rows)]

    def sign(self, batch: pa.RecordBatch) -> list[tuple[Node, str, np.ndarray]]:
        """(node, bucket, signature) of every row that has shingles."""
        if not batch.num_rows:
            return []
        sets = self.shingle_sets(batch)
        signatures = self._hasher.sign_shingles(sets)
        return [(node, bucket, signatures[i]) for i, (node, bucket, s) in enumerate(zip(node_keys(batch), self.buckets(batch), sets)) if s]


@dataclass(frozen=True)
class SignedRows:
    """Signed rows of one batch, as arrays: ``nodes`` (object array of (id, source)),
    ``buckets`` (list of str), ``signatures`` (n, num_perm) uint32 and band ``keys`` (n, bands)
    int64 (int64: what Beam's key coders take)."""

    nodes: np.ndarray
    buckets: list[str]
    signatures: np.ndarray
    keys: np.ndarray

    @classmethod
    def of(cls, params: NearDedupParams, signed: Sequence[tuple[Node, str, np.ndarray]]) -> SignedRows:
        nodes = np.empty(len(signed), dtype=object)
        nodes[:] = [node for node, _, _ in signed]
        signatures = np.stack([sig for _, _, sig in signed]) if signed else np.empty((0, params.num_perm), np.uint32)
        keys = params.lsh.keys(signatures).view(np.int64) if signed else np.empty((0, params.bands), np.int64)
        return cls(nodes, [bucket for _, bucket, _ in signed], signatures, keys)

    def by_bucket(self) -> Iterable[tuple[str, np.ndarray]]:
        """(bucket, row indexes) for each bucket of these rows."""
        if len(set(self.buckets)) == 1:
            yield self.buckets[0], np.arange(len(self.buckets))
            return
        rows: dict[str, list[int]] = {}
        for i, bucket in enumerate(self.buckets):
            rows.setdefault(bucket, []).append(i)
        for bucket, indexes in rows.items():
            yield bucket, np.asarray(indexes)


def shared_keys(keys: np.ndarray) -> list[np.ndarray]:
    """Indexes into ``keys`` (1-D) of each key that occurs more than once; vectorised, so rows
    without a near-duplicate cost no Python work."""
    if len(keys) < 2:
        return []
    order = np.argsort(keys, kind="stable")
    starts = np.concatenate(([0], np.flatnonzero(np.diff(keys[order])) + 1))
    counts = np.diff(np.concatenate((starts, [len(keys)])))
    return [order[start : start + count] for start, count in zip(starts[counts > 1].tolist(), counts[counts > 1].tolist())]


ALL_PAIRS_UP_TO = 8  # a band bucket of at most this many rows: every pair is a candidate


def candidate_pairs(members: Iterable[Node]) -> list[tuple[Node, Node]]:
    """Candidate pairs (smaller node first) of the rows of one band bucket: every pair when it
    has at most :data:`ALL_PAIRS_UP_TO` rows, else its smallest row with each other one (a
    bucket of 1M copies of a boilerplate text costs 1M pairs, not 10^12). The same members
    give the same pairs in any order."""
    unique = sorted(set(members))
    if len(unique) <= ALL_PAIRS_UP_TO:
        return list(itertools.combinations(unique, 2))
    return [(unique[0], other) for other in unique[1:]]


def link_pairs(pairs: Iterable[tuple[Node, Node]], signatures: dict[Node, np.ndarray], threshold: float, forest: UnionFind) -> None:
    """Union into ``forest`` the candidate pairs whose estimated similarity reaches
    ``threshold``; the similarities of all pairs in one vectorised comparison."""
    pairs = list(pairs)
    if not pairs:
        return
    nodes = sorted({node for pair in pairs for node in pair})
    index = {node: i for i, node in enumerate(nodes)}
    matrix = np.stack([signatures[node] for node in nodes])
    left = np.fromiter((index[a] for a, _ in pairs), dtype=np.int64, count=len(pairs))
    right = np.fromiter((index[b] for _, b in pairs), dtype=np.int64, count=len(pairs))
    equal = np.count_nonzero(matrix[left] == matrix[right], axis=1)
    for i in np.flatnonzero(equal / matrix.shape[1] >= threshold).tolist():  # as similarity() compares
        forest.union(*pairs[i])


class UnionFind:
    """Disjoint sets of nodes; :meth:`components` names each by its smallest node, so the
    result depends only on the pairs added, never on their order."""

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}

    def find(self, node: Node) -> Node:
        parent = self.parent
        root = parent.setdefault(node, node)
        while parent[root] != root:
            parent[root] = parent[parent[root]]
            root = parent[root]
        return root

    def union(self, a: Node, b: Node) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = (ra, rb) if ra < rb else (rb, ra)
            self.parent[high] = low

    def merge(self, other: UnionFind) -> None:
        for node, parent in other.parent.items():
            self.union(node, parent)

    def components(self) -> dict[Node, tuple[Node, int]]:
        """Node -> (smallest node of its component, component size), for every node seen.
        ``union`` always makes the smaller root the parent, so a root is its set's smallest node."""
        roots = {node: self.find(node) for node in self.parent}
        sizes: dict[Node, int] = {}
        for root in roots.values():
            sizes[root] = sizes.get(root, 0) + 1
        return {node: (root, sizes[root]) for node, root in roots.items()}


def decide(batch: pa.RecordBatch, decisions: dict[Node, Decision], *, kind: str, text_column: str = "text") -> tuple[Split, Tally]:
    """Split one batch by the clusters: survivors and unclustered rows kept with
    ``dup_cluster_size``, the other members of a cluster as ``near_duplicate`` rows (counted as
    duplicates, and as stored in ``rejected/``)."""
    nodes = node_keys(batch)
    keep: list[bool] = []
    sizes: list[int] = []
    rejections = Rejections(stage=NEAR_DEDUP_STAGE, kind=kind)
    texts = batch.column(text_column).to_pylist() if text_column in batch.schema.names else [None] * batch.num_rows
    for node, text in zip(nodes, texts):
        decision = decisions.get(node)
        if decision is None or decision[0] == node:
            keep.append(True)
            sizes.append(decision[1] if decision else 1)
            continue
        survivor, size, sim = decision
        keep.append(False)
        detail = {"survivor": survivor[0], "survivor_source": survivor[1], "similarity": round(sim, 4), "cluster_size": size}
        rejections.add(id=node[0], source=node[1], reason=NEAR_DUPLICATE, detail=json.dumps(detail, ensure_ascii=False), raw=text)
    mask = pa.array(keep, pa.bool_())
    kept = batch.filter(mask)
    kept = with_columns(kept, [CLUSTER_SIZE], [pa.array(sizes, pa.int32())])
    rejected = rejections.to_batch()
    tally = Tally.of_rows(NEAR_DEDUP_STAGE, DUPLICATE, rejected) + Tally.of_rows(NEAR_DEDUP_STAGE, DUPLICATE_STORED, rejected)
    return Split(kept, rejected), tally


def cluster_decisions(components: dict[Node, tuple[Node, int]], signatures: dict[Node, np.ndarray]) -> dict[Node, Decision]:
    """Each clustered node's survivor, cluster size and estimated similarity to the survivor."""
    return {node: (root, size, similarity(signatures[node], signatures[root])) for node, (root, size) in components.items()}


class NearDeduplicator:
    """In-memory near-dedup of batches of one kind, for library users and single-process runs:
    ``add`` batches, then ``result()`` gives the kept batches (with ``dup_cluster_size``), the
    rejected rows and the tally. Holds every batch, signature and band key (~(num_perm +
    2 x bands) x 4 bytes a row) until the end; the Beam version holds neither."""

    def __init__(self, params: NearDedupParams, kind: str):
        self.params, self.kind = params, kind
        self._signer = RowSigner(params, kind)
        self._batches: list[pa.RecordBatch] = []
        self._signed: list[SignedRows] = []

    def add(self, batch: pa.RecordBatch) -> None:
        self._batches.append(batch)
        signed = self._signer.sign(batch)
        if signed:
            self._signed.append(SignedRows.of(self.params, signed))

    def candidate_pairs(self) -> set[tuple[Node, Node]]:
        """Candidate pairs of every band key that two or more rows of one bucket share."""
        if not self._signed:
            return set()
        nodes = np.concatenate([s.nodes for s in self._signed])
        keys = np.concatenate([s.keys for s in self._signed])
        buckets = [b for s in self._signed for b in s.buckets]
        whole = SignedRows(nodes, buckets, np.empty((0, 0), np.uint32), keys)
        pairs: set[tuple[Node, Node]] = set()
        for _, rows in whole.by_bucket():
            for band in range(self.params.bands):
                for group in shared_keys(keys[rows, band]):
                    pairs.update(candidate_pairs(nodes[rows[group]].tolist()))
        return pairs

    def decisions(self) -> dict[Node, Decision]:
        pairs = self.candidate_pairs()
        signatures = {node: sig for s in self._signed for node, sig in zip(s.nodes.tolist(), s.signatures)}
        forest = UnionFind()
        link_pairs(pairs, signatures, self.params.threshold, forest)
        return cluster_decisions(forest.components(), signatures)

    def result(self) -> tuple[list[pa.RecordBatch], pa.Table, Tally]:
        decisions = self.decisions()
        text_column = "text" if self.kind != "bitext" else "src_text"
        kept, rejected, tally = [], [], Tally()
        for batch in self._batches:
            split, counts = decide(batch, decisions, kind=self.kind, text_column=text_column)
            tally += counts
            if split.kept.num_rows:
                kept.append(split.kept)
            if split.rejected.num_rows:
                rejected.append(split.rejected)
        table = pa.Table.from_batches(rejected or [empty_rejected()])
        return kept, table, tally
