"""The cloned-language engine: sentencepiece ids in, ids of the doubled vocabulary out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from corpusforge import hashing

if TYPE_CHECKING:
    from sentencepiece import SentencePieceProcessor


def unit_hashes(seed: int, purpose: str, keys: Sequence[object]) -> np.ndarray:
    """A uniform number in [0, 1) per key from (seed, purpose, key), through the project's one
    hashing module: the same on every machine and run."""
    return hashing.unit_hashes(hashing.derived_seed(seed, purpose), [str(key) for key in keys])


@dataclass(frozen=True)
class Schedule:
    """``p_clone`` per schedule step: step k of a run is output shard k (train on the shards in
    order for a schedule over training). One value: one step."""

    p_clone: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.p_clone:
            raise ValueError("a schedule needs at least one p_clone")
        bad = [p for p in self.p_clone if not 0.0 <= p <= 1.0]
        if bad:
            raise ValueError(f"p_clone values must be in [0, 1], got {bad}")

    @property
    def steps(self) -> int:
        return len(self.p_clone)


class LanguageCloner:
    """Tokenises text with a sentencepiece model and clones sequences of it.

    ``p_clone``: the probability that a sequence is cloned, one value or one per schedule step
    (Schäfer et al.'s 90/10 split is 0.1). ``frac_clone``: the share of ordinary pieces that
    have a clone; the rest are anchors, shared by both languages. ``seed``: every choice is a
    hash of (seed, key), see :mod:`corpusforge.clone`.

    Cost: sentencepiece's batch encoder, then one hash per sequence and a vectorised shift."""

    def __init__(self, *, model: str | Path, p_clone: float | Sequence[float] = 0.1, frac_clone: float = 1.0, seed: int = 0):
        if not 0.0 <= frac_clone <= 1.0:
            raise ValueError(f"frac_clone must be in [0, 1], got {frac_clone}")
        self.model_path = str(model)
        self.schedule = Schedule((float(p_clone),) if isinstance(p_clone, (int, float)) else tuple(float(p) for p in p_clone))
        self.frac_clone = float(frac_clone)
        self.seed = seed
        self.model_id = ""  # file name @ content digest, set by setup()
        self._sp: SentencePieceProcessor | None = None
        self._cloned: np.ndarray | None = None

    def setup(self) -> None:
        """Load the model and choose the cloned pieces (once; cheap to call again)."""
        if self._sp is not None:
            return
        try:
            import sentencepiece
        except ImportError as exc:  # the mt extra
            raise ImportError("cloned languages need sentencepiece: pip install 'corpusforge[mt]'") from exc
        if not Path(self.model_path).is_file():
            raise FileNotFoundError(f"sentencepiece model {self.model_path} does not exist")
        content = Path(self.model_path).read_bytes()
        self.model_id = f"{Path(self.model_path).name}@{hashlib.blake2b(content, digest_size=8).hexdigest()}"
        sp = sentencepiece.SentencePieceProcessor(model_proto=content)
        size = sp.get_piece_size()
        ordinary = np.array([i for i in range(size) if not (sp.is_control(i) or sp.is_unknown(i))], dtype=np.int64)
        chosen = np.zeros(size, bool)
        if len(ordinary):
            ranks = np.argsort(unit_hashes(self.seed, "piece", ordinary.tolist()), kind="stable")
            chosen[ordinary[ranks[: round(self.frac_clone * len(ordinary))]]] = True
        self._sp, self._cloned = sp, chosen

    @property
    def vocab_size(self) -> int:
        """V: the size of the original vocabulary (cloned ids are id + V)."""
        self.setup()
        assert self._sp is not None
        return self._sp.get_piece_size()

    @property
    def cloned_mask(self) -> np.ndarray:
        """Per original id, whether the piece has a clone (False: an anchor)."""
        self.setup()
        assert self._cloned is not None
        return self._cloned

    def cloned_pieces(self) -> list[int]:
        return np.flatnonzero(self.cloned_mask).tolist()

    def cloned_digest(self) -> str:
        """A short digest of the cloned piece ids."""
        return hashlib.blake2b(np.flatnonzero(self.cloned_mask).astype("<i8").tobytes(), digest_size=8).hexdigest()

    def cloned_mask_hex(self) -> str:
        """The cloned pieces as a bit mask (bit i, most significant first: piece i has a clone),
        in hex: V/4 characters that every shard's metadata carries; :func:`mask_from_hex` reads it."""
        return np.packbits(self.cloned_mask).tobytes().hex()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        self.setup()
        assert self._sp is not None
        return self._sp.encode(list(texts))

    def decide(self, record_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per sequence: its schedule step (int32) and whether it is cloned (bool)."""
        steps = self.schedule.steps
        step = np.minimum((unit_hashes(self.seed, "shard", record_ids) * steps).astype(np.int64), steps - 1)
        p = np.asarray(self.schedule.p_clone, np.float64)[step]
        return step.astype(np.int32), unit_hashes(self.seed, "clone", record_ids) < p

    def clone(self, sequences: Sequence[Sequence[int]], clone: np.ndarray) -> pa.ListArray:
        """``list<int32>`` of the sequences, the cloned pieces of cloned sequences shifted by V."""
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        flat = np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=int(lengths.sum()))
        shift = np.repeat(np.asarray(clone, bool), lengths) & self.cloned_mask[flat]
        values = (flat + shift * self.vocab_size).astype(np.int32)
        offsets = np.zeros(len(sequences) + 1, np.int32)
        np.cumsum(lengths, out=offsets[1:])
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values, pa.int32()))

    def vocabulary_rows(self) -> list[tuple[int, str, int, bool]]:
        """The doubled vocabulary: (id, piece, original id, is a clone) for ids 0..2V-1. A clone
        is spelled ``piece`` + ``@clone``; an anchor's unused second-half id is ``<unused:piece>``."""
        self.setup()
        assert self._sp is not None
        size = self.vocab_size
        pieces = [self._sp.id_to_piece(i) for i in range(size)]
        rows = [(i, piece, i, False) for i, piece in enumerate(pieces)]
        mask = self.cloned_mask.tolist()
        rows += [(size + i, f"{piece}@clone" if mask[i] else f"<unused:{piece}>", i, bool(mask[i])) for i, piece in enumerate(pieces)]
        return rows

    def describe(self) -> dict:
        self.setup()
        return {
            "name": "clone_language",
            "version": "1",
            "model": self.model_id,
            "p_clone": list(self.schedule.p_clone),
            "frac_clone": self.frac_clone,
            "seed": self.seed,
            "vocab_size": self.vocab_size,
            "cloned_pieces": int(self.cloned_mask.sum()),
            "cloned_digest": self.cloned_digest(),
            "cloned_mask": self.cloned_mask_hex(),
        }

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_sp"], state["_cloned"] = None, None  # loaded again on the worker
        return state


def mask_from_hex(mask: str, vocab_size: int) -> np.ndarray:
    """The cloned-piece mask from its hex form (``cloned_mask`` in a shard's stage metadata)."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(mask), np.uint8))[:vocab_size].astype(bool)


def unclone(ids: Sequence[int] | np.ndarray, vocab_size: int) -> np.ndarray:
    """Original ids of a sequence of the doubled vocabulary (shift back by V)."""
    array = np.asarray(ids, np.int64)
    return np.where(array >= vocab_size, array - vocab_size, array)
