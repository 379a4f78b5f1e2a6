"""Near-duplicate removal across a whole corpus on Beam, from the runner-free pieces in
``corpusforge.dedup.near``. Only signatures and node names go through shuffles, never texts:

1. each batch -> (node, bucket, signature) per row (``num_perm`` x 4 bytes);
2. every band of every signature -> (band key, node, signature), sent in lists per shuffle
   partition (bucket, band, key mod ``partitions``); GroupByKey; for each band key of two or
   more rows, pairs verified by estimated similarity;
3. all verified pairs -> one union-find (a global combine, lifted: each worker merges its
   pairs first) -> node -> (smallest node of its component, size);
4. clustered nodes' signatures grouped by survivor -> each member's similarity to it;
5. the batches, with the decisions as a side input -> survivors (``dup_cluster_size``) and
   ``near_duplicate`` rows.

Limits: step 2 holds one shuffle partition on one worker: the rows of one band of one bucket
whose key falls in it, about rows / ``partitions`` entries of ~600 bytes (``partitions=16``
suits up to ~10M rows a bucket; raise it with the corpus); steps 3-5 hold the clustered nodes (rows that have a near-duplicate) on one
worker and in every worker's side input: about 200 bytes a clustered row, so ~2 GB for 10M.
Rows that have no near-duplicate cost nothing there. The union-find gives the same components
for any order of pairs, so the output is the same on every runner and for any input order.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from corpusforge.beam.stages import COUNTS, REJECTED, emit_split
from corpusforge.dedup.near import NearDedupParams, RowSigner, UnionFind, band_entries, cluster_decisions, decide, verified_pairs


class NearDedupOutputs(NamedTuple):
    unique: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection


class _SignFn(beam.DoFn):
    """A batch -> (node, bucket, signature bytes) per row with shingles."""

    def __init__(self, params: NearDedupParams, kind: str):
        self._params, self._kind = params, kind

    def setup(self):
        self._signer = RowSigner(self._params, self._kind)

    def process(self, batch):
        for node, bucket, sig in self._signer.sign(batch):
            yield node, bucket, sig.tobytes()


def _bands(signed_rows, params: NearDedupParams, partitions: int):
    """A bundle's signed rows -> one list of (band key, node, signature) per shuffle partition
    ((bucket, band, key mod ``partitions``)): band keys computed for many rows at once, and a
    few large elements through the shuffle instead of one per row and band."""
    rows = [(node, bucket, np.frombuffer(sig, dtype=np.uint32)) for node, bucket, sig in signed_rows]
    signatures = {node: sig for node, _, sig in signed_rows}
    grouped: dict[tuple[str, int, int], list] = {}
    for (bucket, band, key), node in band_entries(params, rows):
        grouped.setdefault((bucket, band, key % partitions), []).append((key, node, signatures[node]))
    yield from grouped.items()


def _pairs(element, params: NearDedupParams):
    """One shuffle partition -> verified pairs of every band key in it with two or more rows."""
    _, lists = element
    by_key: dict[int, dict] = {}
    for entries in lists:
        for key, node, sig in entries:
            by_key.setdefault(key, {})[node] = sig  # a node read twice is one node
    for members in by_key.values():
        if len(members) > 1:
            decoded = [(node, np.frombuffer(sig, dtype=np.uint32)) for node, sig in members.items()]
            yield from verified_pairs(decoded, params.threshold, params.max_centers)


class _ComponentsFn(beam.CombineFn):
    """Pairs -> node -> (smallest node of its component, size); order-free."""

    def create_accumulator(self):
        return UnionFind()

    def add_input(self, acc, pair):
        acc.union(*pair)
        return acc

    def merge_accumulators(self, accs):
        merged = UnionFind()
        for acc in accs:
            merged.merge(acc)
        return merged

    def extract_output(self, acc):
        return acc.components()


def _to_survivor(signed, components):
    node, _, sig = signed
    found = components.get(node)
    if found is not None:
        yield found[0], (node, sig)


def _similarities(element, components):
    _, members = element
    signatures = {node: np.frombuffer(sig, dtype=np.uint32) for node, sig in members}
    yield from cluster_decisions({node: components[node] for node in signatures}, signatures).items()


class _DecideFn(beam.DoFn):
    def __init__(self, kind: str):
        self._kind = kind
        self._text = "src_text" if kind == "bitext" else "text"

    def process(self, batch, decisions):
        if batch.num_rows:
            yield from emit_split(*decide(batch, decisions, kind=self._kind, text_column=self._text))


class _Batched(beam.DoFn):
    """Elements -> lists of up to ``size`` elements per bundle (band keys are vectorised)."""

    def __init__(self, size: int):
        self._size = size

    def start_bundle(self):
        self._items = []

    def process(self, item):
        self._items.append(item)
        if len(self._items) >= self._size:
            items, self._items = self._items, []
            yield items

    def finish_bundle(self):
        if self._items:
            yield GlobalWindows.windowed_value(self._items)
            self._items = []


class DeduplicateNear(beam.PTransform):
    """Remove near-duplicates from a PCollection of RecordBatches of ``kind``; returns
    ``NearDedupOutputs(unique, rejected, counts)``: survivors and unclustered rows with
    ``dup_cluster_size``, ``near_duplicate`` rows for ``rejected/``, and Tallies (stage
    ``near_dedup``, outcomes ``duplicate`` and ``duplicate_stored``). Cost: the input is read
    twice (signatures, then decisions); ``bands`` shuffled signatures a row, in
    ``bands`` x ``partitions`` groups; see the module docstring for what must fit in memory."""

    def __init__(self, params: NearDedupParams, kind: str, *, partitions: int = 16):
        super().__init__()
        RowSigner(params, kind)  # refuses a kind the parameters do not apply to
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {partitions}")
        self._params, self._kind, self._partitions = params, kind, partitions

    def expand(self, batches):
        params = self._params
        signed = batches | "Sign" >> beam.ParDo(_SignFn(params, self._kind))
        components = (
            signed
            | "Batch" >> beam.ParDo(_Batched(4096))
            | "Bands" >> beam.FlatMap(_bands, params, self._partitions)
            | "GroupBands" >> beam.GroupByKey()
            | "VerifyPairs" >> beam.FlatMap(_pairs, params)
            | "Components" >> beam.CombineGlobally(_ComponentsFn())
        )
        decisions = (
            signed
            | "BySurvivor" >> beam.FlatMap(_to_survivor, pvalue.AsSingleton(components))
            | "GroupClusters" >> beam.GroupByKey()
            | "Similarities" >> beam.FlatMap(_similarities, pvalue.AsSingleton(components))
            | "Decisions" >> beam.combiners.ToDict()
        )
        out = batches | "Decide" >> beam.ParDo(_DecideFn(self._kind), pvalue.AsSingleton(decisions)).with_outputs(
            REJECTED, COUNTS, main="unique"
        )
        return NearDedupOutputs(out.unique, out[REJECTED], out[COUNTS])
