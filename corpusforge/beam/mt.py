"""Machine translation in Beam through ``RunInference``.

Elements are segment RecordBatches (the pipeline's unit); RunInference groups them by
estimated source tokens, the handler translates a group with one token-batched CTranslate2
call (:meth:`TranslateStage.process_many`) and returns one :class:`Split` per batch.

Model placement:

- CPU: one engine per worker process (RunInference's per-process ``Shared``), used by the
  process's threads; CTranslate2 parallelises inside with ``intra_threads``.
- GPU: one engine per machine, shared across the SDK worker processes (Beam's
  ``MultiProcessShared``): the other processes call it over RPC with token lists, so
  sentence splitting and sentencepiece run in every process while the GPU holds one copy of
  the weights. ``device="auto"`` decides in the worker, by CTranslate2's CUDA device count
  (what ``auto`` itself uses), when RunInference first asks; nothing touches CUDA at
  pipeline construction, and Beam's workers start processes without forking.
- Dataflow: ``accelerator`` becomes a resource hint on the RunInference step, e.g.
  ``type:nvidia-l4;count:1;install-nvidia-driver``; the worker image must carry a CUDA 12
  build of CTranslate2 (see the README's MT section).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, cast

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from corpusforge.accounting import Tally
from corpusforge.beam.stages import COUNTS, FATAL_ERRORS, REJECTED, StageOutputs, emit_split, process_isolating_errors
from corpusforge.mt.translator import Ct2Engine
from corpusforge.records import Split
from corpusforge.transforms.translate import TranslateStage

DEFAULT_GPU_ACCELERATOR = "type:nvidia-l4;count:1;install-nvidia-driver"


def estimated_tokens(batch: pa.RecordBatch, *, bytes_per_token: float, fan_out: int) -> int:
    """Source tokens a segment batch will cost, estimated from UTF-8 bytes (no tokenising):
    sentencepiece averages ~4 bytes per token on Latin text and more on other scripts."""
    text_bytes = pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0
    return max(1, int(text_bytes / bytes_per_token) * fan_out)


class TranslateModelHandler(ModelHandler[pa.RecordBatch, PredictionResult, Ct2Engine]):
    """``RunInference`` handler for a :class:`TranslateStage`: RecordBatches of segments in,
    ``PredictionResult(batch, Split)`` out. Only the stage is pickled (paths and options);
    the engine is built by :meth:`load_model` in the worker.

    ``batch_tokens`` bounds the estimated source tokens RunInference groups into one call
    (CTranslate2 then cuts exact ``max_batch_tokens`` batches inside it). ``share_across_processes``
    defaults to whether the worker translates on a GPU; ``accelerator`` (a Dataflow resource
    hint, fixed when the pipeline is built) to :data:`DEFAULT_GPU_ACCELERATOR` for
    ``device="cuda"`` (with ``auto``, ask for GPUs with ``accelerator=`` or Beam's
    ``--resource_hints``).
    """

    def __init__(
        self,
        stage: TranslateStage,
        *,
        batch_tokens: int = 65536,
        bytes_per_token: float = 4.0,
        share_across_processes: bool | None = None,
        accelerator: str | None = None,
    ):
        # BatchElements measures batch size in element_size_fn units (here: tokens). min = max
        # fixes the size: its timing-based search starts from tiny batches, which starve a GPU.
        # A RecordBatch estimated above batch_tokens is still handed over, alone.
        super().__init__(
            min_batch_size=batch_tokens,
            max_batch_size=batch_tokens,
            element_size_fn=functools.partial(estimated_tokens, bytes_per_token=bytes_per_token, fan_out=len(stage.targets)),
        )
        self._stage = stage
        self._share = share_across_processes
        self._accelerator = accelerator or (DEFAULT_GPU_ACCELERATOR if stage.translator.device == "cuda" else None)

    def load_model(self) -> Ct2Engine:
        return self._stage.translator.load_engine()

    def run_inference(
        self, batch: Sequence[pa.RecordBatch], model: Ct2Engine, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        self._stage.use_engine(model)  # the process's engine, or a proxy to the machine's shared one
        model_id = self._stage.translator.info.model_id
        try:
            splits = self._stage.process_many(batch)
        except FATAL_ERRORS:
            raise
        except Exception:  # the dead-letter path: each batch alone, bisected down to the rows that raise
            return [
                PredictionResult(example, list(process_isolating_errors(self._stage, example, kind="segment")), model_id)
                for example in batch
            ]
        return [PredictionResult(example, split, model_id) for example, split in zip(batch, splits)]

    def get_num_bytes(self, batch: Sequence[pa.RecordBatch]) -> int:
        return sum(b.nbytes for b in batch)

    def get_metrics_namespace(self) -> str:
        return "corpusforge_translate"

    def share_model_across_processes(self) -> bool:
        # Asked in the worker (RunInference's setup), where the device count is the worker's own.
        return self._stage.translator.uses_gpu() if self._share is None else self._share

    def model_copies(self) -> int:
        return 1

    def get_resource_hints(self) -> dict:
        return {"accelerator": self._accelerator} if self._accelerator else {}


class _EmitSplit(beam.DoFn):
    def __init__(self, stage: TranslateStage):
        self._stage = stage

    def process(self, result: PredictionResult):
        if isinstance(result.inference, Split):
            yield from emit_split(result.inference, self._stage.tally(result.inference))
        else:  # (split, tally) parts from the dead-letter path
            # Beam types PredictionResult's fields as bare TypeVars; run_inference gives this list.
            for split, tally in cast("list[tuple[Split, Tally]]", result.inference):
                yield from emit_split(split, tally)


class TranslateSegments(beam.PTransform):
    """Segment batches -> ``StageOutputs(kept bitext batches, rejected batches, tallies)``,
    translated through ``RunInference`` with a :class:`TranslateModelHandler`."""

    def __init__(self, stage: TranslateStage, *, handler: TranslateModelHandler | None = None):
        super().__init__(label=f"Stage[{stage.name}]")
        self._stage = stage
        self._handler = handler or TranslateModelHandler(stage)

    def expand(self, batches):
        results = batches | "RunInference" >> RunInference(self._handler)
        outputs = results | "Emit" >> beam.ParDo(_EmitSplit(self._stage)).with_outputs(REJECTED, COUNTS, main="kept")
        return StageOutputs(outputs.kept, outputs[REJECTED], outputs[COUNTS])
