"""The ``multiway`` stage: multi-way parallel tuples over a whole bitext corpus, and the
likely-machine-translated signal their degree gives (Thompson et al. 2024 found highly
multi-way-parallel web text to be shorter, lower in quality and largely machine translated).

A :class:`GlobalStage`: phase one gathers every pair's sentence hashes and score into a
:class:`~corpusforge.multiway.PairTable` (Beam combines it over the whole corpus, never per
batch or worker), :meth:`MultiwayJoin.plan` runs the greedy join
(:func:`~corpusforge.multiway.join_pairs`, tie rule there), and :class:`MultiwayPlan` gives every
record ``mway_id`` and ``mway_degree``. Keeps every row; ``bitext_filter: {max_mway_degree: N}``
rejects high-degree pairs afterwards. The corpus job writes ``multiway/``, one row per tuple of
at least ``min_degree`` languages (:func:`tuple_rows`).

The columns are stage columns (declared here, added to the run's output schema), as
``bitext_score``'s are: ``bitext.v2`` itself is unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.multiway import JoinResult, PairTable, join_pairs, pair_keys
from corpusforge.records import Split, with_columns
from corpusforge.schemas import entries_dict, load_schema
from corpusforge.transforms.base import GlobalStage, GroupedOutput, Stage

MWAY_FIELDS = [
    pa.field(
        "mway_id",
        pa.string(),
        metadata={
            "doc": "Id of the multi-way tuple holding both sentences of the pair (multiway/); null when they ended in different tuples."
        },
    ),
    pa.field(
        "mway_degree",
        pa.int32(),
        nullable=False,
        metadata={"doc": "Languages in the pair's tuple (else the larger tuple of its two sentences; 1 for a sentence in none)."},
    ),
]
TUPLE_SOURCE = "multiway"


class MultiwayJoin(GlobalStage):
    """Joins bitext pairs that share a sentence into multi-way tuples over the whole corpus.

    - ``min_degree``: tuples of at least this many languages are written to ``multiway/`` and
      counted as multi-way in the report (Thompson et al. use 3: a pair is 2-way by itself).
    - ``normalise``: sentences are the same after NFKC, lower-casing and removing punctuation
      and extra whitespace; false: the exact text.
    - ``score_column``: the alignment score that orders the greedy join (a column, or a key of
      ``meta``, e.g. a TSV's ``score`` field); unset or unreadable scores tie, and ties go by
      sentence hash (see :mod:`corpusforge.multiway.join`)."""

    name = "multiway"
    version = "1"
    kinds = ("bitext",)
    unique_input = True  # an exact duplicate pair is one pair; multiway/ lists written records
    report_names = ("multiway",)

    def __init__(self, *, min_degree: int = 3, normalise: bool = True, score_column: str | None = None):
        if not isinstance(min_degree, int) or min_degree < 2:
            raise ValueError(f"min_degree must be an integer >= 2 (a pair is a 2-tuple), got {min_degree!r}")
        self.min_degree = min_degree
        self.normalise = normalise
        self.score_column = score_column

    def output_fields(self, kind: str) -> list[pa.Field]:
        return list(MWAY_FIELDS)

    def describe(self) -> dict:
        return {**super().describe(), "min_degree": self.min_degree, "normalise": self.normalise, "score_column": self.score_column}

    def statistics(self) -> PairStats:
        return PairStats(normalise=self.normalise, score_column=self.score_column)

    def plan(self, stats: PairStats) -> MultiwayPlan:
        return MultiwayPlan(result=join_pairs(stats.table), normalise=self.normalise, min_degree=self.min_degree)

    def reports(self, *, stats: PairStats, plan: Stage, output: object) -> dict:
        assert isinstance(plan, MultiwayPlan)  # the plan is the one self.plan() built
        return {"multiway": plan.report()}

    def grouped_output(self) -> GroupedOutput:
        """``multiway/``: one row per tuple of at least ``min_degree`` languages."""
        return GroupedOutput(TUPLE_SOURCE, tuple_schema(), functools.partial(keyed_members, min_degree=self.min_degree), tuple_rows)


@dataclass
class PairStats:
    """Phase one: the corpus's pairs as a :class:`PairTable` (mergeable in any order)."""

    normalise: bool = True
    score_column: str | None = None

    def __post_init__(self) -> None:
        self.table = PairTable()

    def add_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            u, v, lu, lv = _edges(batch, self.normalise)
            self.table.add(u, v, lu, lv, scores(batch, self.score_column))

    def merge(self, other: PairStats) -> PairStats:
        self.table.merge(other.table)
        return self


@dataclass
class MultiwayPlan(Stage):
    """Phase two: ``mway_id`` and ``mway_degree`` for every pair, from the join of the whole corpus."""

    result: JoinResult
    normalise: bool = True
    min_degree: int = 3

    name = "multiway"
    version = "1"
    kinds = ("bitext",)

    def output_fields(self, kind: str) -> list[pa.Field]:
        return list(MWAY_FIELDS)

    def process(self, batch: pa.RecordBatch) -> Split:
        ids, degrees = self.result.lookup(*_edges(batch, self.normalise))
        return Split.keep_all(with_columns(batch, MWAY_FIELDS, [pa.array(ids, pa.string()), pa.array(degrees, pa.int32())]))

    def report(self) -> dict:
        """The manifest's ``multiway`` section: tuples by degree, and per language its sentences
        by the degree of their tuple and the share in tuples of ``min_degree`` or more."""
        by_lang = self.result.sentence_degrees
        share = {
            lang: sum(n for d, n in degrees.items() if d >= self.min_degree) / max(1, sum(degrees.values()))
            for lang, degrees in by_lang.items()
        }
        return {
            "min_degree": self.min_degree,
            "normalise": self.normalise,
            "distinct_pairs": self.result.pairs,
            "tuples_by_degree": {str(d): n for d, n in self.result.tuples_by_degree().items()},
            "sentences_by_degree": {lang: {str(d): n for d, n in degrees.items()} for lang, degrees in by_lang.items()},
            "multiway_share": share,
        }

    def describe(self) -> dict:
        return {**super().describe(), "min_degree": self.min_degree, "normalise": self.normalise}


def _edges(batch: pa.RecordBatch, normalise: bool) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    if "src_text" not in batch.schema.names:
        raise ValueError("the multiway join works on bitext records (src_text, tgt_text)")
    cols = [batch.column(name) for name in ("src_text", "tgt_text", "src_lang", "tgt_lang")]
    return pair_keys(*cols, normalise=normalise)


def scores(batch: pa.RecordBatch, column: str | None) -> np.ndarray:
    """The alignment score per row as float64 (NaN where there is none or it is not a number):
    the column ``column``, else that key of ``meta``."""
    n = batch.num_rows
    if column is None:
        return np.full(n, np.nan)
    if column in batch.schema.names:
        values = batch.column(column)
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_decimal(values.type):
            return pc.fill_null(values.cast(pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
        raw = values.cast(pa.string()).to_pylist()
    elif "meta" in batch.schema.names:
        raw = [entries_dict(entries).get(column) for entries in batch.column("meta").to_pylist()]
    else:
        return np.full(n, np.nan)
    return np.fromiter((_number(value) for value in raw), dtype=np.float64, count=n)


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]  # str, int or None; None raises TypeError
    except (TypeError, ValueError):
        return float("nan")
    return number if np.isfinite(number) else float("nan")


def tuple_schema() -> pa.Schema:
    return load_schema("multiway")


def tuple_rows(members: Iterable[tuple[str, int, str, str | None, str | None]]) -> pa.RecordBatch:
    """``multiway/`` rows from (mway_id, mway_degree, record id, src_lang, tgt_lang) of the
    records in tuples: one row per tuple with its languages and record ids, sorted."""
    tuples: dict[str, tuple[int, set[str], list[str]]] = {}
    for mway_id, degree, record_id, src_lang, tgt_lang in members:
        entry = tuples.setdefault(mway_id, (degree, set(), []))
        entry[1].update(lang for lang in (src_lang, tgt_lang) if lang)
        entry[2].append(record_id)
    rows = [
        {"id": key, "source": TUPLE_SOURCE, "mway_degree": degree, "langs": sorted(langs), "record_ids": sorted(ids)}
        for key, (degree, langs, ids) in sorted(tuples.items())
    ]
    return pa.RecordBatch.from_pylist(rows, schema=tuple_schema())


def tuple_members(batch: pa.RecordBatch, min_degree: int) -> list[tuple[str, int, str, str | None, str | None]]:
    """(mway_id, mway_degree, id, src_lang, tgt_lang) of the records of ``batch`` in tuples of
    at least ``min_degree`` languages."""
    keep = pc.and_(pc.is_valid(batch.column("mway_id")), pc.greater_equal(batch.column("mway_degree"), min_degree))
    rows = batch.filter(pc.fill_null(keep, False))
    columns = [rows.column(name).to_pylist() for name in ("mway_id", "mway_degree", "id", "src_lang", "tgt_lang")]
    return list(zip(*columns))


def keyed_members(batch: pa.RecordBatch, min_degree: int) -> list[tuple[str, tuple[str, int, str, str | None, str | None]]]:
    """:func:`tuple_members` keyed by their tuple id (a :class:`GroupedOutput`'s ``members``)."""
    return [(member[0], member) for member in tuple_members(batch, min_degree)]


def join_batches(batches: Iterable[pa.RecordBatch], stage: MultiwayJoin) -> tuple[list[pa.RecordBatch], MultiwayPlan]:
    """Runner-free two-pass join (holds the batches in memory; the corpus job does the same at
    scale): the batches with ``mway_id`` and ``mway_degree``, and the plan (its ``report()``)."""
    batches = list(batches)
    stats = stage.statistics()
    for batch in batches:
        stats.add_batch(batch)
    plan = stage.plan(stats)
    return [plan.process(batch).kept for batch in batches], plan
