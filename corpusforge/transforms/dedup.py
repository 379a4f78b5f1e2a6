"""Exact deduplication, runner-free: row keys (a 128-bit blake2b of the text) and an in-memory,
order-independent deduplicator. The Beam version is ``corpusforge.beam.dedup.DeduplicateExact``.

Keys hash the text exactly as it is in the batch, so run the ``normalize`` stage first: two rows
that differ only in spacing or normal form are duplicates only after it.

Which duplicate survives never depends on input order or batching: the row with the smallest
``id`` (then ``source``, then the row's contents, for identical ids), see :func:`preferred`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.accounting import Tally

Kind = Literal["segment", "bitext", "codeswitch"]
Scope = Literal["global", "source", "none"]
DEDUP_STAGE = "dedup"
DUPLICATE = "duplicate"
KEY_BYTES = 16
# 0xFF never occurs in UTF-8, so joining parts with it cannot make two different rows collide.
_SEPARATOR = b"\xff"
# What makes two rows the same record. A pair's languages belong to it: "COVID-19" -> "COVID-19"
# into French and into German are two training pairs, not one.
_TEXT_COLUMNS = {"segment": ("text",), "bitext": ("src_lang", "src_text", "tgt_lang", "tgt_text"), "codeswitch": ("text",)}


def validate_options(kind: str, scope: str) -> None:
    """Raise ValueError naming the choices when ``kind`` or ``scope`` is not one of them."""
    if kind not in _TEXT_COLUMNS:
        raise ValueError(f"dedup kind must be one of {', '.join(_TEXT_COLUMNS)}, not {kind!r}")
    if scope not in ("global", "source", "none"):
        raise ValueError(f"dedup scope must be 'global', 'source' or 'none', not {scope!r}")


def dedup_keys(batch: pa.RecordBatch, *, kind: Kind, scope: Scope) -> list[bytes]:
    """One 16-byte key per row: blake2b of the text (bitext: source language and text, then
    target language and text; a missing language counts as ""), prefixed by the ``source``
    name when ``scope="source"``. Scope ``none`` has no keys."""
    validate_options(kind, scope)
    if scope == "none":
        raise ValueError("dedup scope 'none' keeps every row: there is nothing to key")
    names = (("source",) if scope == "source" else ()) + _TEXT_COLUMNS[kind]
    # binary views of the string columns give bytes without decoding to str and encoding back
    columns = [pc.fill_null(batch.column(name), "").cast(pa.binary()).to_pylist() for name in names]
    blake2b, join = hashlib.blake2b, _SEPARATOR.join
    return [blake2b(join(parts), digest_size=KEY_BYTES).digest() for parts in zip(*columns)]


def preferred(a: dict, b: dict) -> dict:
    """The duplicate to keep of two rows (as ``to_pylist`` dicts): smallest (id, source); for
    equal ones (the same record read twice) the smaller ``repr`` of its sorted fields, so the
    choice is a total order and never depends on which row came first."""
    rank_a, rank_b = (a["id"], a["source"]), (b["id"], b["source"])
    if rank_a != rank_b:
        return a if rank_a < rank_b else b
    return a if repr(sorted(a.items())) <= repr(sorted(b.items())) else b


class ExactDeduplicator:
    """In-memory exact deduplication for library users and single-process runs.

    ``add`` batches, then read ``unique()`` (survivors, in input order, one batch per input batch
    that kept rows, same schema) and ``counts()`` (removed rows per source, stage ``dedup``,
    outcome ``duplicate``). Memory: every added batch is held until the end, plus one dict entry
    per distinct key (the 16-byte key, the id and source strings, two ints: ~250 bytes).
    """

    def __init__(self, kind: Kind, scope: Scope = "global"):
        validate_options(kind, scope)
        self.kind, self.scope = kind, scope
        self._batches: list[pa.RecordBatch] = []
        self._best: dict[bytes, tuple[str, str, int, int]] = {}  # key -> (id, source, batch, row)

    def add(self, batch: pa.RecordBatch) -> None:
        number = len(self._batches)
        self._batches.append(batch)
        if self.scope == "none" or batch.num_rows == 0:
            return
        keys = dedup_keys(batch, kind=self.kind, scope=self.scope)
        ids, sources = batch.column("id").to_pylist(), batch.column("source").to_pylist()
        best = self._best
        for row, (key, id_, source) in enumerate(zip(keys, ids, sources)):
            current = best.get(key)
            if (
                current is None
                or (id_, source) < current[:2]
                or ((id_, source) == current[:2] and self._preferred_to(number, row, current))
            ):
                best[key] = (id_, source, number, row)

    def unique(self) -> list[pa.RecordBatch]:
        return [
            batch if mask is None else batch.filter(pa.array(mask, pa.bool_()))
            for batch, mask in zip(self._batches, self._masks())
            if batch.num_rows and (mask is None or any(mask))
        ]

    def counts(self) -> Tally:
        tally = Tally()
        for batch, mask in zip(self._batches, self._masks()):
            if mask is not None:
                tally += Tally.of_rows(DEDUP_STAGE, DUPLICATE, batch.filter(pc.invert(pa.array(mask, pa.bool_()))))
        return tally

    def _masks(self) -> Sequence[list[bool] | None]:
        """Per added batch: which rows survive (None: all of them, for scope ``none``)."""
        if self.scope == "none":
            return [None] * len(self._batches)
        masks = [[False] * batch.num_rows for batch in self._batches]
        for _, _, number, row in self._best.values():
            masks[number][row] = True
        return masks

    def _preferred_to(self, number: int, row: int, current: tuple[str, str, int, int]) -> bool:
        """Tie on (id, source): compare the two rows' contents (rare: a record added twice)."""
        candidate = self._batches[number].slice(row, 1).to_pylist()[0]
        incumbent = self._batches[current[2]].slice(current[3], 1).to_pylist()[0]
        return preferred(candidate, incumbent) is candidate
