"""The one Beam adapter for runner-free stages: :class:`ApplyStage` turns any :class:`Stage`
into a PTransform from its declared ``execution`` (batches in; kept batches, rejected batches,
row tallies and manifest sections out), so a job never needs to know a stage's class.

What every stage gets here:

- shared state: a stage's ``setup()`` (models, lexicons, automata) runs once per worker process,
  and the set-up instance is shared by the process's DoFn instances and threads (Beam's
  ``Shared``, as RunInference does), keyed by the stage's class and settings;
- a dead-letter path: when ``process`` raises on a batch, the batch is bisected until the rows
  that raise are found; each becomes a rejected row (reason ``stage_error``, the exception in
  ``detail``) and the rest of the batch goes on. Errors about the machine rather than the data
  (:data:`FATAL_ERRORS`, and anything raised in ``setup``) still fail the run.
"""

from __future__ import annotations

import hashlib
import json
import operator
import pickle
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.utils.shared import Shared

from corpusforge.accounting import Tally
from corpusforge.progress import board
from corpusforge.records import Rejections, Split, kind_of, told_kind
from corpusforge.transforms.base import GlobalStage, InferenceStage, Stage

REJECTED = "rejected"
COUNTS = "counts"
STAGE_ERROR = "stage_error"
DETAIL_CHARS = 500
# Exceptions that say something about the machine, not the row: they fail the run.
FATAL_ERRORS: tuple[type[BaseException], ...] = (MemoryError, OSError, ImportError, SystemError)


class StageOutputs(NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection
    reports: dict = {}  # manifest section name -> PCollection of one JSON value


def emit_split(split: Split, tally: Tally):
    """A stage's outputs for one batch as DoFn outputs: kept rows (main), rejected rows and the
    batch's tally (tagged); empty batches are not emitted."""
    if split.kept.num_rows:
        yield split.kept
    if split.rejected.num_rows:
        yield pvalue.TaggedOutput(REJECTED, split.rejected)
    yield pvalue.TaggedOutput(COUNTS, tally)


def process_isolating_errors(stage: Stage, batch: pa.RecordBatch, *, kind: str) -> Iterator[tuple[Split, Tally]]:
    """``stage.process(batch)`` with its tally; when it raises a data error, the batch is cut in
    halves (recursively) and each part processed alone, so only the rows that raise on their own
    are rejected as ``stage_error``. Costs one call on the happy path; a bad row costs about
    2·log2(rows) calls more. A batch of several rows that all raise on their own is a bug in the
    stage, not bad rows: the first error propagates and the run stops. ``kind`` is the kind of
    the batch's records."""
    parts = list(_parts(stage, batch, kind))
    errors = [exc for _, _, exc in parts if exc is not None]
    if batch.num_rows > 1 and len(errors) == len(parts):
        raise errors[0]
    yield from ((split, tally) for split, tally, _ in parts)


def _parts(stage: Stage, batch: pa.RecordBatch, kind: str) -> Iterator[tuple[Split, Tally, Exception | None]]:
    """(split, tally, the error of a stage_error row or None) for ``batch``, or for its halves,
    cut again until each part passes or is one row that raises alone."""
    try:
        split = stage.process(batch)
    except FATAL_ERRORS:
        raise
    except Exception as exc:
        if batch.num_rows == 0:
            raise
        if batch.num_rows == 1:
            yield (*_stage_error(stage, batch, kind, exc), exc)
            return
        middle = batch.num_rows // 2
        for part in (batch.slice(0, middle), batch.slice(middle)):
            yield from _parts(stage, part, kind)
    else:
        yield split, stage.tally(split), None


def _stage_error(stage: Stage, row: pa.RecordBatch, kind: str, exc: Exception) -> tuple[Split, Tally]:
    """One row that ``stage`` raised on, as a rejected row of the kind the stage emits (a
    deriving stage's row is a record it failed to create, so it is ``created`` too)."""
    emitted = stage.derives or kind
    rejections = Rejections(stage=stage.name, kind=emitted)
    names = row.schema.names
    text = next((row.column(c)[0].as_py() for c in ("text", "src_text") if c in names), None)
    message = f"{stage.name}: {type(exc).__name__}: {exc}"
    rejections.add(
        id=row.column("id")[0].as_py(),
        source=row.column("source")[0].as_py(),
        reason=STAGE_ERROR,
        detail=message if len(message) <= DETAIL_CHARS else message[:DETAIL_CHARS] + "…",
        raw=text,
    )
    split = Split(row.slice(0, 0), rejections.to_batch())
    tally = Tally.of_split(stage.name, split)
    if stage.derives:
        tally += Tally.of_rows(stage.name, "created", split.rejected)
    return split, tally


def state_key(stage: Stage) -> str:
    """Which set-up instance a stage shares in a process: its class, and a digest of its
    settings (``describe()`` and its pickled, not yet set-up state)."""
    cls = type(stage)
    digest = hashlib.sha256(json.dumps(stage.describe(), sort_keys=True, default=str).encode())
    try:
        digest.update(pickle.dumps(stage))
    except Exception:  # not picklable by pickle (Beam's pickler may still manage): this object only
        digest.update(str(id(stage)).encode())
    return f"{cls.__module__}.{cls.__qualname__}@{digest.hexdigest()[:32]}"


# One Shared handle per stage settings in the process that builds pipelines; it is pickled with
# each DoFn, so every DoFn instance of the same settings asks the worker for the same object.
_HANDLES: dict[str, Shared] = {}


class _SetUp:
    """Builds the shared set-up stage (a weak-referenceable holder, as ``Shared`` requires)."""

    def __init__(self, stage: Stage):
        self.stage = stage

    def __call__(self) -> _SetUp:
        self.stage.setup()
        return self


class _StageFn(beam.DoFn):
    """Runs one stage per batch with the dead-letter path. The stage's models load in ``setup``
    on the worker, never pickled; a thread-safe stage is set up once per process and shared.
    With a plan side input (global stages), the plan decides each batch instead."""

    def __init__(self, stage: Stage, kind: str | None, *, share: bool):
        self._stage = stage
        self._kind = kind
        self._key = state_key(stage) if share else None
        self._handle = _HANDLES.setdefault(self._key, Shared()) if self._key is not None else None

    def setup(self):
        if self._handle is not None:
            self._held = self._handle.acquire(_SetUp(self._stage), tag=self._key)  # held: keeps it alive
            self._live = self._held.stage
        else:
            self._stage.setup()
            self._live = self._stage

    def process(self, batch, plan: Stage | None = None):
        stage = plan if plan is not None else self._live
        kind = self._kind or (stage.kinds[0] if len(stage.kinds) == 1 else kind_of(batch))
        with told_kind(kind):  # the stage reads its batches' kind from kind_of, not their columns
            results = list(process_isolating_errors(stage, batch, kind=kind))
        for split, tally in results:
            yield from emit_split(split, tally)
        board().stage_rows(stage.name, batch.num_rows)


class ApplyStage(beam.PTransform):
    """Apply a :class:`Stage` to every batch, by its ``execution``; returns
    ``StageOutputs(kept, rejected, counts, reports)``. ``kind`` names the record kind of the
    batches (used for the rejected rows of the dead-letter path; guessed from columns if None)."""

    def __init__(self, stage: Stage, *, kind: str | None = None):
        super().__init__(label=f"Stage[{stage.name}]")
        self._stage = stage
        self._kind = kind

    def expand(self, batches):
        stage = self._stage
        if stage.execution == "global":
            out = batches | ApplyGlobalStage(stage, kind=self._kind)
            return StageOutputs(out.kept, out.rejected, out.counts, out.reports)
        if stage.execution == "inference":
            if not isinstance(stage, InferenceStage):
                raise TypeError(f"stage {stage.name} executes as inference: subclass corpusforge.transforms.base.InferenceStage")
            from corpusforge.beam.inference import RunInferenceStage  # it imports this module

            return batches | RunInferenceStage(stage, kind=self._kind)
        fn = _StageFn(stage, self._kind, share=stage.thread_safe)
        outputs = batches | beam.ParDo(fn).with_outputs(REJECTED, COUNTS, main="kept")
        return StageOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS])


class _StatisticsFn(beam.CombineFn):
    """Combines batches into one :class:`~corpusforge.transforms.base.Statistics` made by
    ``factory``; merges in any order give the same result when the statistics are sums."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory

    def create_accumulator(self):
        return self._factory()

    def add_input(self, acc, batch):
        acc.add_batch(batch)
        return acc

    def merge_accumulators(self, accs):
        merged = self.create_accumulator()
        for acc in accs:
            merged.merge(acc)
        return merged

    def extract_output(self, acc):
        return acc


class CombineStatistics(beam.PTransform):
    """Batches -> one statistics object from ``factory`` (empty input gives empty statistics)."""

    def __init__(self, factory: Callable[[], Any]):
        super().__init__()
        self._factory = factory

    def expand(self, batches):
        return batches | "CombineStats" >> beam.CombineGlobally(_StatisticsFn(self._factory))


class ReportStatistics(beam.PTransform):
    """Batches -> one manifest section: the ``to_dict()`` of statistics from ``factory``."""

    def __init__(self, factory: Callable[[], Any]):
        super().__init__()
        self._factory = factory

    def expand(self, batches):
        return batches | "Stats" >> CombineStatistics(self._factory) | "Section" >> beam.Map(lambda stats: stats.to_dict())


class GlobalOutputs(NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection
    reports: dict  # section name -> PCollection of one JSON value
    stats: beam.PCollection  # phase one: the statistics of the input
    plan: beam.PCollection  # the per-batch stage built from them


class ApplyGlobalStage(beam.PTransform):
    """A :class:`GlobalStage` in two phases: statistics over every input batch, then the plan
    (a side input) decides each batch; reads the input twice. The stage's ``reports`` are
    computed from the statistics, the plan and (if it asks) statistics of the kept output."""

    def __init__(self, stage: GlobalStage, *, kind: str | None = None):
        super().__init__()
        self._stage = stage
        self._kind = kind

    def expand(self, batches):
        stage = self._stage
        stats = batches | "InputStats" >> CombineStatistics(stage.statistics)
        plan = stats | "Plan" >> beam.Map(stage.plan)
        outputs = batches | "Decide" >> beam.ParDo(_StageFn(stage, self._kind, share=False), pvalue.AsSingleton(plan)).with_outputs(
            REJECTED, COUNTS, main="kept"
        )
        reports = {}
        if stage.report_names:
            side = [pvalue.AsSingleton(stats)]
            if stage.output_statistics() is not None:
                side.append(pvalue.AsSingleton(outputs.kept | "OutputStats" >> CombineStatistics(stage.output_statistics)))
            report = plan | "Report" >> beam.Map(_reports, *side, stage=stage)
            reports = {name: report | f"Report[{name}]" >> beam.Map(operator.itemgetter(name)) for name in stage.report_names}
        return GlobalOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS], reports, stats, plan)


def _reports(plan: Stage, stats: Any, output: Any = None, *, stage: GlobalStage) -> dict:
    sections = stage.reports(stats=stats, plan=plan, output=output)
    missing = set(stage.report_names) - set(sections)
    if missing:
        raise ValueError(f"stage {stage.name} declares report sections {sorted(missing)} but did not make them")
    return sections


class _TallyCombineFn(beam.CombineFn):
    def create_accumulator(self):
        return Tally()

    def add_input(self, acc, tally):
        acc += tally
        return acc

    def merge_accumulators(self, accs):
        return Tally.merge(accs)

    def extract_output(self, acc):
        return acc


class SumTallies(beam.PTransform):
    """Sum a PCollection of Tallies into one global Tally (an empty input gives an empty Tally).
    Flatten several tally PCollections first: ``tallies | beam.Flatten() | SumTallies()``."""

    def expand(self, tallies):
        return tallies | "Sum" >> beam.CombineGlobally(_TallyCombineFn())
