"""Machine translation in Beam: :class:`~corpusforge.transforms.translate.TranslateStage`
through the generic RunInference handler (:mod:`corpusforge.beam.inference`), with the
translation knobs named as a translation job names them.

Model placement (the stage answers, the handler asks in the worker):

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

from corpusforge.beam.inference import RunInferenceStage, StageModelHandler
from corpusforge.transforms.translate import BYTES_PER_TOKEN, DEFAULT_GPU_ACCELERATOR, TranslateStage, estimated_tokens

__all__ = ["DEFAULT_GPU_ACCELERATOR", "TranslateModelHandler", "TranslateSegments", "estimated_tokens"]


class TranslateModelHandler(StageModelHandler):
    """The RunInference handler of a :class:`TranslateStage`: ``batch_tokens`` bounds the
    estimated source tokens grouped into one call (CTranslate2 then cuts exact
    ``max_batch_tokens`` batches inside it), estimated at ``bytes_per_token`` UTF-8 bytes each."""

    def __init__(
        self,
        stage: TranslateStage,
        *,
        batch_tokens: int = TranslateStage.group_budget,
        bytes_per_token: float = BYTES_PER_TOKEN,
        share_across_processes: bool | None = None,
        accelerator: str | None = None,
    ):
        size = functools.partial(estimated_tokens, bytes_per_token=bytes_per_token, fan_out=len(stage.targets))
        super().__init__(
            stage, group_budget=batch_tokens, element_size_fn=size, share_across_processes=share_across_processes, accelerator=accelerator
        )


class TranslateSegments(RunInferenceStage):
    """Segment batches -> ``StageOutputs(kept bitext batches, rejected batches, tallies)``,
    translated through ``RunInference`` with a :class:`TranslateModelHandler`."""

    def __init__(self, stage: TranslateStage, *, handler: TranslateModelHandler | None = None):
        super().__init__(stage, handler=handler or TranslateModelHandler(stage))
