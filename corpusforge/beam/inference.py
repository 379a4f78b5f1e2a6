"""Inference stages in Beam through ``RunInference``, with one handler for every
:class:`~corpusforge.transforms.base.InferenceStage`.

Elements are RecordBatches (the pipeline's unit); RunInference groups them up to the stage's
``group_budget`` of :meth:`~corpusforge.transforms.base.InferenceStage.batch_cost`, the handler
decides a group with one :meth:`~corpusforge.transforms.base.InferenceStage.process_many` call
and returns one :class:`Split` per batch. The model is loaded by RunInference in the worker:
once per process (Beam's ``Shared``), or once per machine when the stage shares it across
processes (``MultiProcessShared``, the other processes call it over RPC), never pickled. A
group that raises goes through the dead-letter path one batch at a time, so only the rows that
raise are rejected (``stage_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import apache_beam as beam
import pyarrow as pa
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from corpusforge.accounting import Tally
from corpusforge.beam.stages import COUNTS, FATAL_ERRORS, REJECTED, StageOutputs, emit_split, process_isolating_errors
from corpusforge.records import Split, told_kind
from corpusforge.transforms.base import InferenceStage


class StageModelHandler(ModelHandler[pa.RecordBatch, PredictionResult, Any]):
    """``RunInference`` handler for an :class:`InferenceStage`: RecordBatches in,
    ``PredictionResult(batch, Split)`` out. Only the stage is pickled (paths and options).

    ``group_budget`` (default the stage's) bounds the cost RunInference groups into one call;
    ``element_size_fn`` (default the stage's ``batch_cost``) measures it. ``share_across_processes``
    defaults to the stage's answer in the worker; ``accelerator`` (a Dataflow resource hint, fixed
    when the pipeline is built) to the stage's. ``kind``: the record kind of the batches.
    """

    def __init__(
        self,
        stage: InferenceStage,
        *,
        kind: str | None = None,
        group_budget: int | None = None,
        element_size_fn: Callable[[pa.RecordBatch], int] | None = None,
        share_across_processes: bool | None = None,
        accelerator: str | None = None,
    ):
        # BatchElements measures batch size in element_size_fn units. min = max fixes the size:
        # its timing-based search starts from tiny batches, which starve a GPU. A batch costing
        # more than the budget is still handed over, alone.
        budget = group_budget or stage.group_budget
        super().__init__(min_batch_size=budget, max_batch_size=budget, element_size_fn=element_size_fn or stage.batch_cost)
        self._stage = stage
        self._kind = kind or stage.kinds[0]
        self._share = share_across_processes
        self._accelerator = accelerator or stage.accelerator()

    def load_model(self) -> Any:
        return self._stage.load_model()

    def run_inference(
        self, batch: Sequence[pa.RecordBatch], model: Any, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        self._stage.use_model(model)  # the process's model, or a proxy to the machine's shared one
        model_id = self._stage.model_id()
        with told_kind(self._kind):
            try:
                splits = self._stage.process_many(batch)
            except FATAL_ERRORS:
                raise
            except Exception:  # the dead-letter path: each batch alone, bisected down to the rows that raise
                return [
                    PredictionResult(example, list(process_isolating_errors(self._stage, example, kind=self._kind)), model_id)
                    for example in batch
                ]
        return [PredictionResult(example, split, model_id) for example, split in zip(batch, splits)]

    def get_num_bytes(self, batch: Sequence[pa.RecordBatch]) -> int:
        return sum(b.nbytes for b in batch)

    def get_metrics_namespace(self) -> str:
        return self._stage.metrics_namespace

    def share_model_across_processes(self) -> bool:
        # Asked in the worker (RunInference's setup), where the device count is the worker's own.
        return self._stage.shares_model_across_processes() if self._share is None else self._share

    def model_copies(self) -> int:
        return 1

    def get_resource_hints(self) -> dict:
        return {"accelerator": self._accelerator} if self._accelerator else {}


class _EmitSplit(beam.DoFn):
    def __init__(self, stage: InferenceStage):
        self._stage = stage

    def process(self, result: PredictionResult):
        if isinstance(result.inference, Split):
            yield from emit_split(result.inference, self._stage.tally(result.inference))
        else:  # (split, tally) parts from the dead-letter path
            # Beam types PredictionResult's fields as bare TypeVars; run_inference gives this list.
            for split, tally in cast("list[tuple[Split, Tally]]", result.inference):
                yield from emit_split(split, tally)


class RunInferenceStage(beam.PTransform):
    """Batches -> ``StageOutputs(kept, rejected, tallies)`` of an :class:`InferenceStage`,
    through ``RunInference`` with a :class:`StageModelHandler` (or the ``handler`` given)."""

    def __init__(self, stage: InferenceStage, *, kind: str | None = None, handler: StageModelHandler | None = None):
        super().__init__(label=f"Stage[{stage.name}]")
        self._stage = stage
        self._handler = handler or StageModelHandler(stage, kind=kind)

    def expand(self, batches):
        results = batches | "RunInference" >> RunInference(self._handler)
        outputs = results | "Emit" >> beam.ParDo(_EmitSplit(self._stage)).with_outputs(REJECTED, COUNTS, main="kept")
        return StageOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS])
