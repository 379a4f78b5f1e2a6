"""The clone stage: segments in, token sequences of a cloned language out (``cloned.v1``
records: ``ids``, ``clone``, ``step``, ``source_id``), with the engine
:class:`~corpusforge.clone.LanguageCloner`. Text that gives no token (empty, or only what the
model drops) is rejected, never written as an empty sequence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.clone import LanguageCloner
from corpusforge.records import Split, reject_where
from corpusforge.schemas import load_schema
from corpusforge.transforms.base import Stage

NO_TOKENS = "no_tokens"


class CloneSequences(Stage):
    """Tokenises each segment's ``text`` and clones it or not (see :class:`LanguageCloner`).
    Output rows are ``cloned`` records, one per segment; their ``id`` is the segment's id,
    also kept as ``source_id``."""

    name = "clone_language"
    version = "1"
    kinds = ("segment",)

    def __init__(self, *, model: str, p_clone: float | list[float] = 0.1, frac_clone: float = 1.0, seed: int = 0):
        self.cloner = LanguageCloner(model=model, p_clone=p_clone, frac_clone=frac_clone, seed=seed)

    def setup(self) -> None:
        self.cloner.setup()

    def describe(self) -> dict:
        return self.cloner.describe()

    def process(self, batch: pa.RecordBatch) -> Split:
        self.setup()
        texts = pc.fill_null(batch.column("text"), "").to_pylist()
        sequences = self.cloner.encode(texts)
        empty = [not s for s in sequences]
        split = reject_where(batch, empty, stage=self.name, kind="segment", reason=NO_TOKENS, detail="the text gives no token")
        kept = split.kept
        sequences = [s for s, e in zip(sequences, empty) if not e]
        ids = kept.column("id").to_pylist()
        step, clone = self.cloner.decide(ids)
        columns = {
            "id": kept.column("id"),
            "source": kept.column("source"),
            "source_id": kept.column("id"),
            "ids": self.cloner.clone(sequences, clone),
            "clone": pa.array(clone, pa.bool_()),
            "step": pa.array([f"step-{s:04d}" for s in step.tolist()], pa.string()),
        }
        schema = load_schema("cloned")
        return Split(pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema), split.rejected)


@dataclass
class CloneStats:
    """Per schedule step: sequences, cloned sequences, tokens and shifted tokens (integer sums,
    mergeable in any order). ``to_dict()`` is the manifest's ``clone_steps`` section."""

    vocab_size: int = 0
    steps: dict[str, list[int]] = field(default_factory=dict)

    def add_batch(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        clone = batch.column("clone").to_numpy(zero_copy_only=False)
        lengths = pc.list_value_length(batch.column("ids")).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(batch.column("ids")).to_numpy(zero_copy_only=False)
        shifted_per_row = (
            np.add.reduceat(flat >= self.vocab_size, np.r_[0, np.cumsum(lengths)[:-1]]) if len(flat) else np.zeros(len(lengths))
        )
        for step in set(batch.column("step").to_pylist()):
            mask = pc.equal(batch.column("step"), step).to_numpy(zero_copy_only=False)
            counts = [int(mask.sum()), int(clone[mask].sum()), int(lengths[mask].sum()), int(shifted_per_row[mask].sum())]
            self._add(step, counts)

    def _add(self, step: str, counts: Sequence[int]) -> None:
        old = self.steps.get(step, [0, 0, 0, 0])
        self.steps[step] = [a + b for a, b in zip(old, counts)]

    def merge(self, other: CloneStats) -> CloneStats:
        for step, counts in other.steps.items():
            self._add(step, counts)
        return self

    def to_dict(self) -> dict:
        return {
            step: {
                "sequences": n,
                "cloned": cloned,
                "cloned_share": cloned / n if n else 0.0,
                "tokens": tokens,
                "shifted_tokens": shifted,
            }
            for step, (n, cloned, tokens, shifted) in sorted(self.steps.items())
        }
