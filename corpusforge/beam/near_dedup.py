"""Near-duplicate removal across a whole corpus on Beam, from the runner-free pieces in
``corpusforge.dedup.near``. Only signatures and node names go through shuffles, never texts:

1. each batch -> one element: its rows' nodes, buckets and signatures (``num_perm`` x 4 bytes
   a row; one element per batch keeps the runner's per-element cost off the rows);
2. every band of every signature -> (band key, node), sent in lists per shuffle partition
   (bucket, band, key mod ``partitions``); GroupByKey; candidate pairs of every band key with
   two or more rows (``candidate_pairs``); Distinct;
3. candidate pairs joined twice with the rows' signatures (CoGroupByKey on each side), kept
   when their estimated similarity reaches the threshold: each row's signature goes through
   the shuffle twice, not once per band;
4. verified pairs -> one union-find (a global combine, lifted: each worker merges its pairs
   first) -> node -> (smallest node of its component, size);
5. clustered rows' signatures grouped by survivor -> each member's similarity to it;
6. the batches, with the decisions as a side input -> survivors (``dup_cluster_size``) and
   ``near_duplicate`` rows.

Limits: step 2 holds one shuffle partition on one worker: the rows of one band of one bucket
whose key falls in it, about rows / ``partitions`` entries of ~80 bytes (``partitions=16``
suits ~100M rows a bucket; raise it with the corpus); steps 4-6 hold the clustered nodes
(rows that have a near-duplicate) on one worker and in every worker's side input: about 200
bytes a clustered row, so ~2 GB for 10M.
Rows that have no near-duplicate cost nothing there. The union-find gives the same components
for any order of pairs, so the output is the same on every runner and for any input order.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam import pvalue

from corpusforge.beam.stages import COUNTS, REJECTED, emit_split
from corpusforge.dedup.lsh import similarity
from corpusforge.dedup.near import NearDedupParams, RowSigner, UnionFind, band_entries, candidate_pairs, cluster_decisions, decide


class NearDedupOutputs(NamedTuple):
    unique: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection


class _SignFn(beam.DoFn):
    """A batch -> one signed batch: (nodes, buckets, signatures (n, num_perm) uint32) of its
    rows with shingles; one element per batch, not per row."""

    def __init__(self, params: NearDedupParams, kind: str):
        self._params, self._kind = params, kind

    def setup(self):
        self._signer = RowSigner(self._params, self._kind)

    def process(self, batch):
        signed = self._signer.sign(batch)
        if signed:
            yield [node for node, _, _ in signed], [bucket for _, bucket, _ in signed], np.stack([sig for _, _, sig in signed])


def _bands(signed_batch, params: NearDedupParams, partitions: int):
    """A signed batch -> one list of (band key, node) per shuffle partition ((bucket, band,
    key mod ``partitions``)): a few large elements through the shuffle instead of one per row
    and band, and no signatures."""
    nodes, buckets, signatures = signed_batch
    rows = [(node, bucket, signatures[i]) for i, (node, bucket) in enumerate(zip(nodes, buckets))]
    grouped: dict[tuple[str, int, int], list] = {}
    for (bucket, band, key), node in band_entries(params, rows):
        grouped.setdefault((bucket, band, key % partitions), []).append((key, node))
    yield from grouped.items()


def _candidates(element):
    """One shuffle partition -> the candidate pairs of every band key with two or more rows."""
    _, lists = element
    by_key: dict[int, list] = {}
    for entries in lists:
        for key, node in entries:
            by_key.setdefault(key, []).append(node)
    pairs = {pair for members in by_key.values() if len(members) > 1 for pair in candidate_pairs(members)}
    yield from pairs


def _row_signatures(signed_batch):
    nodes, _, signatures = signed_batch
    for i, node in enumerate(nodes):
        yield node, signatures[i].tobytes()


def _first_halves(element):
    """(a, {signature of a, partners b}) -> (b, (a, signature of a)) per partner."""
    a, joined = element
    for sig in joined["sig"]:  # one, unless the node was read twice (then the same signature)
        for b in joined["pair"]:
            yield b, (a, sig)
        return


def _verified(element, threshold: float):
    """(b, {signature of b, halves (a, signature of a)}) -> (a, b) when they are similar enough."""
    b, joined = element
    for sig_b in joined["sig"]:
        mine = np.frombuffer(sig_b, dtype=np.uint32)
        for a, sig_a in joined["half"]:
            if similarity(np.frombuffer(sig_a, dtype=np.uint32), mine) >= threshold:
                yield a, b
        return


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


def _to_survivor(signed_batch, components):
    """A signed batch -> (survivor, [(member, signature), ...]) for its clustered rows."""
    nodes, _, signatures = signed_batch
    grouped: dict = {}
    for i, node in enumerate(nodes):
        found = components.get(node)
        if found is not None:
            grouped.setdefault(found[0], []).append((node, signatures[i]))
    yield from grouped.items()


def _similarities(element, components):
    _, lists = element
    signatures = {node: sig for members in lists for node, sig in members}
    yield from cluster_decisions({node: components[node] for node in signatures}, signatures).items()


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
    twice (signatures, then decisions); ``bands`` band keys and two signatures a row through
    the shuffles; see the module docstring for what must fit in memory."""

    def __init__(self, params: NearDedupParams, kind: str, *, partitions: int = 16):
        super().__init__()
        RowSigner(params, kind)  # refuses a kind the parameters do not apply to
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {partitions}")
        self._params, self._kind, self._partitions = params, kind, partitions

    def expand(self, batches):
        params = self._params
        signed = batches | "Sign" >> beam.ParDo(_SignFn(params, self._kind))
        candidates = (
            signed
            | "Bands" >> beam.FlatMap(_bands, params, self._partitions)
            | "GroupBands" >> beam.GroupByKey()
            | "Candidates" >> beam.FlatMap(_candidates)
            | "DistinctPairs" >> beam.Distinct()
        )
        row_signatures = signed | "RowSignatures" >> beam.FlatMap(_row_signatures)
        halves = (
            {"sig": row_signatures, "pair": candidates} | "JoinFirst" >> beam.CoGroupByKey() | "FirstHalves" >> beam.FlatMap(_first_halves)
        )
        components = (
            {"sig": row_signatures, "half": halves}
            | "JoinSecond" >> beam.CoGroupByKey()
            | "Verify" >> beam.FlatMap(_verified, params.threshold)
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
