"""Near-duplicate removal across a whole corpus on Beam, from the runner-free pieces in
``corpusforge.dedup.near``. Only signatures and node names go through shuffles, never texts:

1. each batch -> one element: its rows' nodes, buckets and signatures (``num_perm`` x 4 bytes
   a row; one element per batch keeps the runner's per-element cost off the rows);
2. every band key of every row, sent as arrays per shuffle partition (bucket, key mod
   ``partitions``); GroupByKey; the rows that share a (band, key), and in which bands (a
   global combine: node -> bitmask of bands);
3. again, for those rows and bands only, with the rows' signatures; GroupByKey; candidate
   pairs of every shared (band, key) (``candidate_pairs``) kept when their estimated
   similarity reaches the threshold, joined in a local union-find: signatures go through the
   shuffle only for rows that have a candidate, once per partition they share a key in;
4. each partition's links -> one union-find (a global combine, lifted: each worker merges its
   links first) -> node -> (smallest node of its component, size);
5. clustered rows' signatures grouped by survivor -> each member's similarity to it;
6. the batches, with the decisions as a side input -> survivors (``dup_cluster_size``) and
   ``near_duplicate`` rows.

Limits: step 2 holds one shuffle partition on one worker: the band keys of one bucket that
fall in it, about rows x bands / ``partitions`` entries of ~20 bytes plus the rows' nodes
(``partitions=16`` suits ~10M rows a bucket; raise it with the corpus); steps 2-6 hold the rows that have a
candidate (2) or a near-duplicate (4-6) on one worker and in every worker's side input: about
200 bytes a row, so ~2 GB for 10M.
Rows that have no near-duplicate cost nothing there. The union-find gives the same components
for any order of pairs, so the output is the same on every runner and for any input order.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam import pvalue

from corpusforge.beam.stages import COUNTS, REJECTED, emit_split
from corpusforge.dedup.near import (
    NearDedupParams,
    RowSigner,
    SignedRows,
    UnionFind,
    candidate_pairs,
    cluster_decisions,
    decide,
    link_pairs,
)


class NearDedupOutputs(NamedTuple):
    unique: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection


class _SignFn(beam.DoFn):
    """A batch -> one :class:`SignedRows` of its rows with shingles (one element per batch)."""

    def __init__(self, params: NearDedupParams, kind: str):
        self._params, self._kind = params, kind

    def setup(self):
        self._signer = RowSigner(self._params, self._kind)

    def process(self, batch):
        signed = self._signer.sign(batch)
        if signed:
            yield SignedRows.of(self._params, signed)


def _band_lists(signed: SignedRows, params: NearDedupParams, partitions: int, collided: dict | None = None):
    """Signed rows -> per shuffle partition ((bucket, band key mod ``partitions``), every band
    together) one element of arrays: (bands, keys, row of each entry, the rows' nodes, their
    signatures or None). A few large elements through the shuffle, not one per row and band,
    and a row's node and signature once per partition, not once per band. Without
    ``collided``: every row and band, no signatures. With it (node -> bitmask of the bands
    where the row shares its key): only those rows and bands, with signatures, so signatures
    travel only with rows that have a candidate."""
    masks = None if collided is None else np.fromiter((collided.get(n, 0) for n in signed.nodes), dtype=np.int64, count=len(signed.nodes))
    n_bands = params.bands
    for bucket, rows in signed.by_bucket():
        entry_rows = np.repeat(rows, n_bands)
        entry_bands = np.tile(np.arange(n_bands), len(rows))
        entry_keys = signed.keys[rows].reshape(-1)
        if masks is not None:
            wanted = ((masks[entry_rows] >> entry_bands) & 1).astype(bool)
            entry_rows, entry_bands, entry_keys = entry_rows[wanted], entry_bands[wanted], entry_keys[wanted]
        if not len(entry_rows):
            continue
        parts = entry_keys % partitions
        order = np.argsort(parts, kind="stable")
        starts = np.concatenate(([0], np.flatnonzero(np.diff(parts[order])) + 1, [len(order)]))
        for begin, stop in zip(starts[:-1].tolist(), starts[1:].tolist()):
            chosen = order[begin:stop]
            unique_rows, local = np.unique(entry_rows[chosen], return_inverse=True)
            sigs = None if masks is None else signed.signatures[unique_rows]
            value = (entry_bands[chosen].astype(np.int16), entry_keys[chosen], local.astype(np.int32), signed.nodes[unique_rows], sigs)
            yield (bucket, int(parts[chosen[0]])), value


def _concatenated(lists):
    """A partition's elements as one set of arrays (entry rows made global)."""
    parts = list(lists)
    offsets = np.cumsum([0] + [len(nodes) for _, _, _, nodes, _ in parts[:-1]])
    bands = np.concatenate([b for b, _, _, _, _ in parts])
    keys = np.concatenate([k for _, k, _, _, _ in parts])
    rows = np.concatenate([r + offset for (_, _, r, _, _), offset in zip(parts, offsets.tolist())])
    nodes = np.concatenate([n for _, _, _, n, _ in parts])
    sigs = None if parts[0][4] is None else np.concatenate([s for _, _, _, _, s in parts])
    return bands, keys, rows, nodes, sigs


def _shared(bands: np.ndarray, keys: np.ndarray) -> list[np.ndarray]:
    """Entry indexes of each (band, key) that two or more entries share."""
    if len(keys) < 2:
        return []
    order = np.lexsort((keys, bands))
    change = (np.diff(keys[order]) != 0) | (np.diff(bands[order]) != 0)
    starts = np.concatenate(([0], np.flatnonzero(change) + 1))
    counts = np.diff(np.concatenate((starts, [len(keys)])))
    return [order[start : start + count] for start, count in zip(starts[counts > 1].tolist(), counts[counts > 1].tolist())]


def _collisions(element):
    """One shuffle partition of band keys -> [(node, band), ...] of the rows that share a key."""
    _, lists = element
    bands, keys, rows, nodes, _ = _concatenated(lists)
    found = {(nodes[row], int(bands[group[0]])) for group in _shared(bands, keys) for row in rows[group].tolist()}
    if found:
        yield list(found)


class _CollidedFn(beam.CombineFn):
    """Lists of (node, band) -> node -> bitmask of its colliding bands; order-free."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, found):
        for node, band in found:
            acc[node] = acc.get(node, 0) | 1 << band
        return acc

    def merge_accumulators(self, accs):
        merged: dict = {}
        for acc in accs:
            for node, mask in acc.items():
                merged[node] = merged.get(node, 0) | mask
        return merged

    def extract_output(self, acc):
        return acc


def _verified_links(element, threshold: float):
    """One shuffle partition of band keys with signatures -> (node, smallest linked node) of
    its verified candidate pairs, joined in a local union-find (the same components as the
    pairs, in fewer elements)."""
    _, lists = element
    bands, keys, rows, nodes, sigs = _concatenated(lists)
    groups = _shared(bands, keys)
    if not groups:
        return
    pairs = {pair for group in groups for pair in candidate_pairs(nodes[rows[group]].tolist())}
    signatures = {nodes[row]: sigs[row] for group in groups for row in rows[group].tolist()}
    forest = UnionFind()
    link_pairs(pairs, signatures, threshold, forest)
    links = [(node, root) for node, (root, _) in forest.components().items() if node != root]
    if links:
        yield links  # one element per partition, not one per link


class _ComponentsFn(beam.CombineFn):
    """Lists of linked pairs -> node -> (smallest node of its component, size); order-free."""

    def create_accumulator(self):
        return UnionFind()

    def add_input(self, acc, links):
        for a, b in links:
            acc.union(a, b)
        return acc

    def merge_accumulators(self, accs):
        merged = UnionFind()
        for acc in accs:
            merged.merge(acc)
        return merged

    def extract_output(self, acc):
        return acc.components()


def _to_survivor(signed: SignedRows, components):
    """Signed rows -> (survivor, [(member, signature), ...]) for the clustered ones."""
    signatures = signed.signatures
    grouped: dict = {}
    for i, node in enumerate(signed.nodes.tolist()):
        found = components.get(node)
        if found is not None:
            grouped.setdefault(found[0], []).append((node, signatures[i]))
    yield from grouped.items()


def _similarities(element, components):
    """(survivor, lists of (member, signature)) -> one dict of the members' decisions."""
    _, lists = element
    signatures = {node: sig for members in lists for node, sig in members}
    yield cluster_decisions({node: components[node] for node in signatures}, signatures)


class _MergeDictsFn(beam.CombineFn):
    """Dicts with disjoint keys -> one dict (empty input: an empty dict)."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, part):
        acc.update(part)
        return acc

    def merge_accumulators(self, accs):
        merged: dict = {}
        for acc in accs:
            merged.update(acc)
        return merged

    def extract_output(self, acc):
        return acc


class _DecideFn(beam.DoFn):
    def __init__(self, kind: str):
        self._kind = kind
        self._text = "src_text" if kind == "bitext" else "text"

    def process(self, batch, decisions):
        if batch.num_rows:
            yield from emit_split(*decide(batch, decisions, kind=self._kind, text_column=self._text))


class DeduplicateNear(beam.PTransform):
    """Remove near-duplicates from a PCollection of RecordBatches of ``kind``; returns
    ``NearDedupOutputs(unique, rejected, counts)``: survivors and unclustered rows with
    ``dup_cluster_size``, ``near_duplicate`` rows for ``rejected/``, and Tallies (stage
    ``near_dedup``, outcomes ``duplicate`` and ``duplicate_stored``). Cost: the input is read
    twice (signatures, then decisions); ``bands`` band keys a row, and signatures
    of rows with candidates, through the shuffles; see the module docstring for what must
    fit in memory."""

    def __init__(self, params: NearDedupParams, kind: str, *, partitions: int = 16):
        super().__init__()
        RowSigner(params, kind)  # refuses a kind the parameters do not apply to
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {partitions}")
        self._params, self._kind, self._partitions = params, kind, partitions

    def expand(self, batches):
        params = self._params
        signed = batches | "Sign" >> beam.ParDo(_SignFn(params, self._kind))
        collided = (
            signed
            | "Bands" >> beam.FlatMap(_band_lists, params, self._partitions)
            | "GroupBands" >> beam.GroupByKey()
            | "Collisions" >> beam.FlatMap(_collisions)
            | "Collided" >> beam.CombineGlobally(_CollidedFn())
        )
        components = (
            signed
            | "CandidateBands" >> beam.FlatMap(_band_lists, params, self._partitions, pvalue.AsSingleton(collided))
            | "GroupCandidates" >> beam.GroupByKey()
            | "Verify" >> beam.FlatMap(_verified_links, params.threshold)
            | "Components" >> beam.CombineGlobally(_ComponentsFn())
        )
        decisions = (
            signed
            | "BySurvivor" >> beam.FlatMap(_to_survivor, pvalue.AsSingleton(components))
            | "GroupClusters" >> beam.GroupByKey()
            | "Similarities" >> beam.FlatMap(_similarities, pvalue.AsSingleton(components))
            | "Decisions" >> beam.CombineGlobally(_MergeDictsFn())
        )
        out = batches | "Decide" >> beam.ParDo(_DecideFn(self._kind), pvalue.AsSingleton(decisions)).with_outputs(
            REJECTED, COUNTS, main="unique"
        )
        return NearDedupOutputs(out.unique, out[REJECTED], out[COUNTS])
