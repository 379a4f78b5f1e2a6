"""Near-duplicate removal across a whole corpus on Beam, from the runner-free pieces in
``corpusforge.dedup.near``. Only signatures and node names go through shuffles, never texts:

1. each batch -> (node, bucket, signature) per row (``num_perm`` x 4 bytes);
2. every band of every signature -> ((bucket, band, key), (node, signature)); GroupByKey;
   in each bucket of two or more rows, pairs verified by estimated similarity;
3. all verified pairs -> one union-find (a global combine, lifted: each worker merges its
   pairs first) -> node -> (smallest node of its component, size);
4. clustered nodes' signatures grouped by survivor -> each member's similarity to it;
5. the batches, with the decisions as a side input -> survivors (``dup_cluster_size``) and
   ``near_duplicate`` rows.

Limits: step 2 holds one band bucket's members on one worker (a bucket of 1M identical rows
is ~0.6 GB); steps 3-5 hold the clustered nodes (rows that have a near-duplicate) on one
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


def _bands(signed_rows, params: NearDedupParams):
    """A bundle's signed rows -> band entries, band keys computed for many rows at once."""
    rows = [(node, bucket, np.frombuffer(sig, dtype=np.uint32)) for node, bucket, sig in signed_rows]
    signatures = {node: sig for node, _, sig in signed_rows}
    for key, node in band_entries(params, rows):
        yield key, (node, signatures[node])


def _pairs(element, params: NearDedupParams):
    _, members = element
    unique = {node: sig for node, sig in members}  # a node read twice is one node
    if len(unique) < 2:
        return
    decoded = [(node, np.frombuffer(sig, dtype=np.uint32)) for node, sig in unique.items()]
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
    twice (signatures, then decisions); ``bands`` shuffled signatures a row; see the module
    docstring for what must fit in memory."""

    def __init__(self, params: NearDedupParams, kind: str):
        super().__init__()
        RowSigner(params, kind)  # refuses a kind the parameters do not apply to
        self._params, self._kind = params, kind

    def expand(self, batches):
        params = self._params
        signed = batches | "Sign" >> beam.ParDo(_SignFn(params, self._kind))
        components = (
            signed
            | "Batch" >> beam.ParDo(_Batched(4096))
            | "Bands" >> beam.FlatMap(_bands, params)
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
