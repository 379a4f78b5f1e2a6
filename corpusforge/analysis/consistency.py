"""Human-vs-machine translation consistency of evaluation sets (Agrawal et al. 2024, "Translation
Errors Significantly Impact Low-Resource Languages in Cross-Lingual Learning"), runner-free.

For every item (a field of an evaluation row, in one language) the English source is machine
translated into the language and the human translation back into English, with one
CTranslate2 model (:class:`~corpusforge.mt.translator.Ct2Translator`, one engine call per
batch for every direction). Each direction is scored with sacrebleu's chrF and BLEU (sentence
level); ``consistency`` is the mean of the two chrF scores. A human translation inconsistent
with its source (a mistranslation, a sentence from another item) scores low in both directions.

:class:`ConsistencyScorer` scores item batches; :class:`ConsistencySummary` (mergeable) gives the
per-language distributions, the share below a threshold and the lowest-scoring items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from corpusforge.languages import language_of
from corpusforge.mt.translator import Ct2Translator
from corpusforge.schemas import load_schema

SCORES = ("chrf_mt", "bleu_mt", "chrf_bt", "bleu_bt", "consistency")
ITEM_COLUMNS = ("id", "source", "item_id", "lang", "field", "source_text", "human_text", "meta")
# sacrebleu's BLEU tokenisers for languages written without spaces between words
BLEU_TOKENIZERS = {"zho": "zh", "jpn": "char", "tha": "char", "mya": "char", "khm": "char", "lao": "char"}


def bleu_tokenizer(lang: str) -> str:
    try:
        return BLEU_TOKENIZERS.get(language_of(lang), "13a")
    except ValueError:
        return "13a"


class ConsistencyScorer:
    """Scores items (a batch with :data:`ITEM_COLUMNS`) into ``consistency.v1`` rows. ``threshold``:
    an item whose ``consistency`` is below it is flagged (``below_threshold``).

    Cost: two translations per item (one engine call per batch for both directions) and four
    sentence-level metrics."""

    def __init__(self, translator: Ct2Translator, *, source_lang: str = "eng_Latn", threshold: float = 30.0):
        self.translator = translator
        self.source_lang = source_lang
        self.threshold = threshold

    def setup(self) -> None:
        self.translator.setup()

    def score(self, items: pa.RecordBatch) -> pa.RecordBatch:
        from sacrebleu.metrics import BLEU, CHRF

        n = items.num_rows
        schema = load_schema("consistency")
        if not n:
            return pa.RecordBatch.from_pylist([], schema=schema)
        sources = items.column("source_text").to_pylist()
        humans = items.column("human_text").to_pylist()
        langs = items.column("lang").to_pylist()
        translated = self.translator.translate(
            sources + humans, src_lang=[self.source_lang] * n + langs, tgt_lang=langs + [self.source_lang] * n
        )
        mt, bt = [t.text for t in translated[:n]], [t.text for t in translated[n:]]
        chrf = CHRF()
        bleus: dict[str, BLEU] = {}

        def bleu(hyp: str, ref: str, lang: str) -> float:
            tok = bleu_tokenizer(lang)
            metric = bleus.setdefault(tok, BLEU(tokenize=tok, effective_order=True))
            return metric.sentence_score(hyp, [ref]).score

        chrf_mt = [chrf.sentence_score(h, [r]).score for h, r in zip(mt, humans)]
        chrf_bt = [chrf.sentence_score(h, [r]).score for h, r in zip(bt, sources)]
        consistency = [(a + b) / 2 for a, b in zip(chrf_mt, chrf_bt)]
        columns = {name: items.column(name) for name in ITEM_COLUMNS}
        columns.update(
            mt_text=pa.array(mt, pa.string()),
            bt_text=pa.array(bt, pa.string()),
            chrf_mt=pa.array(chrf_mt, pa.float64()),
            bleu_mt=pa.array([bleu(h, r, lang) for h, r, lang in zip(mt, humans, langs)], pa.float64()),
            chrf_bt=pa.array(chrf_bt, pa.float64()),
            bleu_bt=pa.array([bleu(h, r, self.source_lang) for h, r in zip(bt, sources)], pa.float64()),
            consistency=pa.array(consistency, pa.float64()),
            below_threshold=pa.array([c < self.threshold for c in consistency], pa.bool_()),
            mt_model=pa.array([self.translator.info.model_id] * n, pa.string()),
        )
        return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


@dataclass
class ConsistencySummary:
    """Per language: every item's scores (for distributions) and the ``lowest`` items by
    ``consistency`` (ties by id). Mergeable in any order with the same :meth:`to_dict`."""

    threshold: float = 30.0
    lowest: int = 20
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    worst: dict[str, list[tuple[float, str, dict]]] = field(default_factory=dict)

    def add_batch(self, batch: pa.RecordBatch) -> None:
        for row in batch.to_pylist():
            lang = row["lang"]
            per = self.values.setdefault(lang, {name: [] for name in SCORES})
            for name in SCORES:
                per[name].append(row[name])
            review = {k: row[k] for k in ("item_id", "field", "source_text", "human_text", "mt_text", "bt_text", *SCORES)}
            self._keep(lang, [(row["consistency"], row["id"], review)])

    def _keep(self, lang: str, entries: list[tuple[float, str, dict]]) -> None:
        merged = sorted(self.worst.get(lang, []) + entries, key=lambda e: (e[0], e[1]))
        self.worst[lang] = merged[: self.lowest]

    def merge(self, other: ConsistencySummary) -> ConsistencySummary:
        for lang, per in other.values.items():
            mine = self.values.setdefault(lang, {name: [] for name in SCORES})
            for name, values in per.items():
                mine[name].extend(values)
        for lang, entries in other.worst.items():
            self._keep(lang, entries)
        return self

    def to_dict(self) -> dict:
        languages = {}
        for lang in sorted(self.values):
            per = self.values[lang]
            consistency = np.asarray(per["consistency"], np.float64)
            languages[lang] = {
                "items": len(consistency),
                "below_threshold": int((consistency < self.threshold).sum()),
                "share_below_threshold": float((consistency < self.threshold).mean()) if len(consistency) else 0.0,
                "scores": {name: _distribution(per[name]) for name in SCORES},
                "lowest": [review for _, _, review in self.worst.get(lang, [])],
            }
        return {"threshold": self.threshold, "languages": languages}


def _distribution(values: list[float]) -> dict:
    array = np.sort(np.asarray(values, np.float64))
    if not len(array):
        return {"mean": None}
    q = np.quantile(array, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {
        "mean": _round(array.mean()),
        **{k: _round(v) for k, v in zip(("p10", "p25", "median", "p75", "p90"), q)},
        "min": _round(array[0]),
    }


def _round(value: float) -> float:
    """Sums in another order differ in the last bits: 9 significant digits keep reruns equal."""
    return float(f"{value:.9g}") if math.isfinite(value) else value
