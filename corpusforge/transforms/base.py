"""The transform contract: a runner-free stage on Arrow batches.

A stage takes a ``pyarrow.RecordBatch`` of one record kind and returns a :class:`Split`: the
rows it keeps (with any columns it adds) and the rows it refuses, each with a reason. Stages
that only score add columns and keep every row; filters read columns and decide. Each stage
declares how it executes (:attr:`Stage.execution`); Beam sees a stage only through
``corpusforge.beam.stages.ApplyStage``, which builds the PTransform from that declaration.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pyarrow as pa

from corpusforge.accounting import Tally
from corpusforge.records import Split

# How a stage executes, which is all the Beam adapter needs to know about it:
# - "map": ``process`` per batch, independently (most stages);
# - "derive": per batch too, but the output is new records of kind ``derives`` and the input
#   goes on unchanged (translit_pairs, entity_switch, dictionary_switch);
# - "inference": a model the runner loads once per process or machine and feeds with groups of
#   batches (:class:`InferenceStage`, run through RunInference; translate);
# - "global": two phases, mergeable statistics of the whole input first, then a per-batch
#   stage built from them (:class:`GlobalStage`; the byte-budget sampler).
Execution = Literal["map", "derive", "inference", "global"]
EXECUTIONS: tuple[str, ...] = ("map", "derive", "inference", "global")


class Statistics(Protocol):
    """A mergeable summary of batches (a Beam combiner's accumulator). Keep it to integer sums
    or other order-free state, so the result does not depend on how a runner splits the work."""

    def add_batch(self, batch: pa.RecordBatch) -> None: ...

    def merge(self, other: Any) -> Any: ...


@dataclass(frozen=True)
class GroupedOutput:
    """An output about groups of a stage's records, one row per group (multi-way tuples), that
    the job writes beside the records as ``<output>/<name>/``: ``members(batch)`` gives a
    (group key, member) pair per record of a group; the members of one or more whole groups,
    gathered across the corpus by key, become rows through ``rows(members)``, in ``schema``.
    Both must be picklable (module-level functions or partials of them)."""

    name: str
    schema: pa.Schema
    members: Callable[[pa.RecordBatch], Iterable[tuple[Any, Any]]]
    rows: Callable[[Iterable[Any]], pa.RecordBatch]


class Stage(abc.ABC):
    """One unit of work on batches. Subclasses set ``name`` and ``version`` (bump the version
    whenever output for the same input changes) and implement :meth:`process`."""

    name: str = "stage"
    version: str = "1"
    kinds: tuple[str, ...] = ("segment", "bitext")
    # A deriving stage (translation, transliteration pairs) returns new records of this kind
    # instead of its input, which then goes on unchanged; its tally counts them as ``created``.
    derives: str | None = None
    # Columns the stage reads beyond the base schema; the recipe loader checks that an earlier
    # stage adds them, so a misordered recipe fails before the run, not on the first batch.
    requires: tuple[str, ...] = ()
    # See :data:`Execution`. A stage that sets ``derives`` executes as "derive" unless it says
    # otherwise (a model that derives records, like translate, says "inference").
    execution: Execution = "map"
    # Whether ``process`` may run on one set-up instance from several threads at once. The Beam
    # adapter then sets up one instance per process (keyed by the stage's settings) and shares
    # it across DoFn instances and threads; False keeps one set-up instance per DoFn instance.
    thread_safe: bool = True
    # Whether the run deduplicates records before this stage rather than after all stages: a
    # stage whose output holds intended copies (up-sampling) must draw from unique rows and
    # keep its copies.
    unique_input: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.derives and "execution" not in cls.__dict__ and cls.execution == "map":
            cls.execution = "derive"
        if cls.execution not in EXECUTIONS:
            raise TypeError(f"{cls.__name__}.execution must be one of {', '.join(EXECUTIONS)}, not {cls.execution!r}")

    def setup(self) -> None:
        """Load models or build tables; called once per worker process before the first batch
        (the adapter shares the set-up instance, see ``thread_safe``), and lazily by library
        callers. Never store unpicklable state before this is called."""

    def output_fields(self, kind: str) -> list[pa.Field]:
        """Columns this stage adds to records of ``kind`` (declared, never inferred)."""
        return []

    @abc.abstractmethod
    def process(self, batch: pa.RecordBatch) -> Split:
        """Return kept rows (with added columns) and rejected rows for one batch."""

    def tally(self, split: Split) -> Tally:
        """Row counts of one processed batch for the run manifest (kept ``out``, refused ``rejected``)."""
        return Tally.of_split(self.name, split)

    def describe(self) -> dict:
        """What goes into Parquet metadata and the manifest to identify this stage's output."""
        return {"name": self.name, "version": self.version}

    def grouped_output(self) -> GroupedOutput | None:
        """An output about groups of the kept records to write beside them; None by default."""
        return None

    def written_reports(self, kind: str) -> dict[str, Callable[[], Any]]:
        """Manifest sections about the records of ``kind`` the run writes (after every stage and
        deduplication): section name -> a factory of fresh :class:`Statistics` whose
        ``to_dict()`` is the section. None by default."""
        return {}


class GlobalStage(Stage):
    """A stage whose per-row decisions depend on the whole input (``execution = "global"``):
    :meth:`statistics` are gathered over every batch first, :meth:`plan` turns them into a
    per-batch stage, and :meth:`reports` may add manifest sections named in ``report_names``.
    :meth:`process` runs both phases on one batch alone (library callers; tests)."""

    execution: Execution = "global"
    report_names: tuple[str, ...] = ()

    @abc.abstractmethod
    def statistics(self) -> Statistics:
        """Fresh, empty phase-one statistics."""

    @abc.abstractmethod
    def plan(self, stats: Any) -> Stage:
        """The per-batch stage that decides every row, from the statistics of the whole input."""

    def output_statistics(self) -> Statistics | None:
        """Fresh statistics of the plan's kept output, handed to :meth:`reports`; None: not needed."""
        return None

    def reports(self, *, stats: Any, plan: Stage, output: Any) -> dict[str, Any]:
        """Manifest sections (JSON values) for each name in ``report_names``."""
        return {}

    def process(self, batch: pa.RecordBatch) -> Split:
        stats = self.statistics()
        stats.add_batch(batch)
        return self.plan(stats).process(batch)


class InferenceStage(Stage):
    """A stage fed by a model (``execution = "inference"``) that the runner loads once per worker
    process, or once per machine and shares across its processes (a GPU holds one copy), and
    feeds with groups of batches: Beam's RunInference, through one generic handler.

    Subclasses load the model in :meth:`load_model` (never at construction), take it in
    :meth:`use_model`, implement :meth:`process`, and may decide a group of batches in one
    call (:meth:`process_many`).
    :meth:`batch_cost` and :attr:`group_budget` say how batches are grouped: RunInference
    hands over batches until their cost reaches the budget (a batch above it goes alone)."""

    execution: Execution = "inference"
    group_budget: int = 8192  # units of batch_cost per inference call
    metrics_namespace: str = "corpusforge"

    @abc.abstractmethod
    def load_model(self) -> Any:
        """A new model (weights loaded), in the worker; the runner shares it, so it must be an
        object Beam's ``Shared`` can weakly reference (an instance of a class, not a builtin)."""

    @abc.abstractmethod
    def use_model(self, model: Any) -> None:
        """Decide batches with ``model`` (the process's own, or a proxy to the machine's)."""

    def setup(self) -> None:
        self.use_model(self.load_model())

    def process_many(self, batches: Sequence[pa.RecordBatch]) -> list[Split]:
        """One :class:`Split` per batch, in order (default: :meth:`process` each; a model that
        batches across them overrides this, and its :meth:`process` calls it with one)."""
        return [self.process(batch) for batch in batches]

    def batch_cost(self, batch: pa.RecordBatch) -> int:
        """What one batch costs the model, in :attr:`group_budget` units (default: rows)."""
        return max(1, batch.num_rows)

    def model_id(self) -> str | None:
        """The model's id, recorded with each inference result."""
        return None

    def shares_model_across_processes(self) -> bool:
        """Whether one model serves all of a machine's worker processes (asked in the worker)."""
        return False

    def accelerator(self) -> str | None:
        """A runner resource hint for the inference step (Dataflow's ``accelerator``), or None."""
        return None
