"""Machine translation stage: monolingual segments in, machine-translated bitext out.

Each segment becomes one ``bitext`` row per target language (``origin="mt"``: the segment is
the source side; ``origin="backtranslation"``: the segment is the target side and the
translation the synthetic source, for training the reverse direction). Rows keep the segment's
``source``, ``meta`` (so translated evaluation sets keep their labels) and its id as
``source_id``. With ``round_trip`` each translation is translated back and scored against the
segment with chrF (a cheap quality signal for filtering synthetic data; doubles the cost);
``round_trip_text`` also keeps the back-translation (translate-test's round trip).
Every (segment, target) pair is a *created* row: it is either kept or rejected
with a reason (empty_text, missing_src_lang, unsupported_src_lang, same_language,
empty_translation), so ``created = kept + rejected`` for this stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.accounting import Tally
from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.mt.tokenize import ConventionName, LanguageNotSupported
from corpusforge.mt.translator import ComputeType, Ct2Engine, Ct2Translator, Device, missing_mt_packages
from corpusforge.progress import Progress
from corpusforge.records import Rejections, Split, stable_id
from corpusforge.schemas import extend, load_schema
from corpusforge.transforms.base import InferenceStage

MT_FIELDS = [
    pa.field("mt_model", pa.string(), metadata={"doc": "Id of the translation model (directory name @ content hash)."}),
    pa.field("mt_score", pa.float64(), metadata={"doc": "Model score: mean per-token log-probability of the translation."}),
    pa.field("mt_truncated", pa.bool_(), metadata={"doc": "A source sentence was longer than max_input_length tokens and was cut."}),
]
ROUND_TRIP_FIELD = pa.field(
    "mt_round_trip_chrf",
    pa.float64(),
    metadata={"doc": "chrF (0-100, sacrebleu) of the segment against its translation translated back; with round_trip only."},
)
BYTES_PER_TOKEN = 4.0  # sentencepiece averages ~4 UTF-8 bytes per token on Latin text, more on other scripts
DEFAULT_GPU_ACCELERATOR = "type:nvidia-l4;count:1;install-nvidia-driver"  # Dataflow's hint for device="cuda"


def estimated_tokens(batch: pa.RecordBatch, *, bytes_per_token: float = BYTES_PER_TOKEN, fan_out: int = 1) -> int:
    """Source tokens a segment batch will cost, estimated from UTF-8 bytes (no tokenising),
    times ``fan_out`` (one translation per target language)."""
    text_bytes = pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0
    return max(1, int(text_bytes / bytes_per_token) * fan_out)


ROUND_TRIP_TEXT_FIELD = pa.field(
    "mt_round_trip_text",
    pa.string(),
    metadata={"doc": "The translation translated back into the segment's language; with round_trip_text only."},
)


class TranslateStage(InferenceStage):
    """Translate segments into one or more target languages with a CTranslate2 model directory.

    Construction is cheap (reads the model's config and vocabulary) and fails on a missing
    model, an unknown code, or a target language the model lacks; weights load in
    :meth:`setup`. A batch costs one engine call for all its sentences and targets.
    """

    name = "translate"
    version = "1"
    kinds = ("segment",)
    derives = "bitext"
    execution = "inference"  # RunInference: one engine per process (or per machine on a GPU)
    group_budget = 65536  # estimated source tokens per inference call (CTranslate2 cuts max_batch_tokens inside)
    metrics_namespace = "corpusforge_translate"

    def __init__(
        self,
        *,
        model: Path,
        targets: list[str],
        src_lang: str | None = None,
        origin: Literal["mt", "backtranslation"] = "mt",
        device: Device = "auto",
        compute_type: ComputeType = "auto",
        beam_size: int = 4,
        max_batch_tokens: int = 4096,
        max_input_length: int = 512,
        max_decoding_length: int = 256,
        min_decoding_length: int = 1,
        split_sentences: bool = True,
        round_trip: bool = False,
        round_trip_text: bool = False,
        inter_threads: int = 1,
        intra_threads: int = 0,
        convention: ConventionName = "auto",
        source_spm: Path | None = None,
        target_spm: Path | None = None,
        model_id: str | None = None,
    ):
        missing = missing_mt_packages(split_sentences=split_sentences, round_trip=round_trip)
        if missing:
            raise ValueError(
                f"translate needs the mt extra, and {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
                "pip install 'corpusforge[mt]' (or corpusforge[gpu] on GPU workers)"
            )
        self.translator = Ct2Translator(
            model,
            device=device,
            compute_type=compute_type,
            beam_size=beam_size,
            max_batch_tokens=max_batch_tokens,
            max_input_length=max_input_length,
            max_decoding_length=max_decoding_length,
            min_decoding_length=min_decoding_length,
            split_sentences=split_sentences,
            inter_threads=inter_threads,
            intra_threads=intra_threads,
            convention=convention,
            source_spm=source_spm,
            target_spm=target_spm,
            model_id=model_id,
        )
        tags = self.translator.tags
        if not targets:
            raise ValueError("translate needs at least one target language")
        self.targets = [_canonical(t, "target") for t in targets]
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"target languages repeat: {targets}")
        if not tags.multilingual and len(self.targets) > 1:
            raise ValueError(
                f"model {self.translator.info.model_id} has no language tokens, so it translates into one language only; "
                f"give one target, not {self.targets}"
            )
        if tags.multilingual:
            for target in self.targets:
                tags.tag(target)  # raises LanguageNotSupported naming the model and the language
        self.src_lang = _canonical(src_lang, "source") if src_lang else None
        if self.src_lang and tags.multilingual and tags.convention.source_tag:
            tags.tag(self.src_lang)
        if round_trip and not (tags.multilingual and tags.convention.source_tag):
            raise ValueError(
                f"round_trip translates back with the same model, which needs a many-to-many model (NLLB, M2M-100); "
                f"{self.translator.info.model_id} is {tags.convention.name}"
            )
        if round_trip_text and not round_trip:
            raise ValueError("round_trip_text keeps the back-translation of round_trip; set round_trip too")
        self.round_trip = round_trip
        self.round_trip_text = round_trip_text
        self.origin = origin
        self.schema = extend(load_schema("bitext"), self.output_fields("bitext"))
        # per process: segments in, target tokens out (the rate a long MT run is judged by)
        self._progress = Progress(logging.getLogger("corpusforge.mt"), self.name, units=("segments", "target tokens"))

    def setup(self) -> None:
        self.translator.setup()

    def use_engine(self, engine: Ct2Engine) -> None:
        """Translate with an already loaded engine (Beam's shared model) instead of loading one."""
        self.translator.setup(engine)

    # --- how the runner feeds the model (InferenceStage) ---

    def load_model(self) -> Ct2Engine:
        return self.translator.load_engine()

    def use_model(self, model: Ct2Engine) -> None:
        self.use_engine(model)

    def batch_cost(self, batch: pa.RecordBatch) -> int:
        return estimated_tokens(batch, fan_out=len(self.targets))

    def model_id(self) -> str:
        return self.translator.info.model_id

    def shares_model_across_processes(self) -> bool:
        """On a GPU (CTranslate2's device count, asked in the worker): one engine per machine."""
        return self.translator.uses_gpu()

    def accelerator(self) -> str | None:
        return DEFAULT_GPU_ACCELERATOR if self.translator.device == "cuda" else None

    def output_fields(self, kind: str) -> list[pa.Field]:
        if kind != "bitext":
            return []
        round_trip = [ROUND_TRIP_FIELD] if self.round_trip else []
        return [*MT_FIELDS, *round_trip, *([ROUND_TRIP_TEXT_FIELD] if self.round_trip_text else [])]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "origin": self.origin,
            "targets": self.targets,
            "round_trip": self.round_trip,
            "round_trip_text": self.round_trip_text,
            **self.translator.describe(),
        }

    def tally(self, split: Split) -> Tally:
        """Row counts for the manifest: kept (``out``) and refused rows as usual, and every
        (segment, target) pair, kept or refused, as ``created``."""
        tally = Tally.of_split(self.name, split)
        tally += Tally.of_rows(self.name, "created", split.kept)
        tally += Tally.of_rows(self.name, "created", split.rejected)
        return tally

    def process(self, batch: pa.RecordBatch) -> Split:
        return self.process_many([batch])[0]

    def process_many(self, batches: Sequence[pa.RecordBatch]) -> list[Split]:
        """One :class:`Split` per batch, from a single translation call over all of them (so
        Beam's RunInference can hand several batches to one token-batched engine call)."""
        plans = [self._plan(batch) for batch in batches]
        texts: list[str] = []
        srcs: list[str | None] = []
        tgts: list[str] = []
        for plan in plans:
            for row, target in plan.jobs:
                text = plan.texts[row]
                assert text is not None  # _plan makes jobs of rows with text only
                texts.append(text)
                srcs.append(plan.srcs[row])
                tgts.append(target)
        translations = self.translator.translate(texts, src_lang=srcs, tgt_lang=tgts)
        self._progress.add(sum(b.num_rows for b in batches), sum(t.target_tokens for t in translations))
        back = self._round_trip(texts, translations, srcs, tgts) if self.round_trip else [(None, None)] * len(texts)
        results = iter(zip(translations, back))
        return [self._assemble(plan, [next(results) for _ in plan.jobs]) for plan in plans]

    def _round_trip(self, texts: list[str], translations: list, srcs: list[str | None], tgts: list[str]) -> list[tuple[float, str]]:
        """(chrF of each text against its translation translated back, that back-translation);
        costs a second translation."""
        from sacrebleu.metrics import CHRF

        back = self.translator.translate([t.text for t in translations], src_lang=tgts, tgt_lang=srcs)
        chrf = CHRF()
        return [(chrf.sentence_score(b.text, [text]).score, b.text) for b, text in zip(back, texts)]

    def _plan(self, batch: pa.RecordBatch) -> _Plan:
        names = batch.schema.names
        n = batch.num_rows
        plan = _Plan(
            ids=batch.column("id").to_pylist(),
            sources=batch.column("source").to_pylist(),
            texts=batch.column("text").to_pylist(),
            metas=batch.column("meta").to_pylist() if "meta" in names else [None] * n,
            rejections=Rejections(stage=self.name, kind="bitext"),
        )
        langs = batch.column("lang").to_pylist() if "lang" in names else [None] * n
        verdicts: dict[str | None, tuple[str | None, str | None]] = {}
        for row in range(n):
            lang = langs[row] or self.src_lang
            if lang not in verdicts:
                verdicts[lang] = self._check_source(lang)
            src, problem = verdicts[lang]
            plan.srcs.append(src)
            if problem is None and not (plan.texts[row] or "").strip():
                problem = "empty_text"
            for target in self.targets:
                reason = problem or ("same_language" if src == target else None)
                if reason is None:
                    plan.jobs.append((row, target))
                else:
                    plan.rejections.add(
                        id=self.pair_id(plan.ids[row], target),
                        source=plan.sources[row],
                        reason=reason,
                        detail=f"{lang or 'unknown'} -> {target}",
                        raw=plan.texts[row],
                    )
        return plan

    def _check_source(self, lang: str | None) -> tuple[str | None, str | None]:
        """(canonical source language, rejection reason or None) for a row's language."""
        tags = self.translator.tags
        needs_source = tags.multilingual and tags.convention.source_tag
        if lang is None:
            return None, ("missing_src_lang" if needs_source else None)
        try:
            src = canonical(lang)
        except (LanguageCodeError, LookupError):
            return None, ("unsupported_src_lang" if needs_source else None)
        if needs_source and not tags.supports(src):
            return src, "unsupported_src_lang"
        return src, None

    def pair_id(self, segment_id: str, target: str) -> str:
        """Id of the bitext row (kept or rejected) for a segment translated into ``target``."""
        return stable_id(segment_id, self.name, self.origin, self.translator.info.model_id, target)

    def _assemble(self, plan: _Plan, results: list) -> Split:
        rows: dict[str, list] = {name: [] for name in self.schema.names}
        model_id = self.translator.info.model_id
        for (row, target), (translation, (similarity, back)) in zip(plan.jobs, results):
            row_id = self.pair_id(plan.ids[row], target)
            if not translation.text.strip():
                plan.rejections.add(
                    id=row_id, source=plan.sources[row], reason="empty_translation", detail=f"-> {target}", raw=plan.texts[row]
                )
                continue
            original, translated = plan.texts[row], translation.text
            forward = self.origin == "mt"
            rows["id"].append(row_id)
            rows["source"].append(plan.sources[row])
            rows["src_text"].append(original if forward else translated)
            rows["tgt_text"].append(translated if forward else original)
            rows["src_lang"].append(plan.srcs[row] if forward else target)
            rows["tgt_lang"].append(target if forward else plan.srcs[row])
            rows["origin"].append(self.origin)
            rows["source_id"].append(plan.ids[row])
            rows["meta"].append(plan.metas[row])
            rows["mt_model"].append(model_id)
            rows["mt_score"].append(translation.score)
            rows["mt_truncated"].append(translation.truncated)
            if self.round_trip:
                rows["mt_round_trip_chrf"].append(similarity)
            if self.round_trip_text:
                rows["mt_round_trip_text"].append(back)
        return Split(pa.RecordBatch.from_pydict(rows, schema=self.schema), plan.rejections.to_batch())


@dataclass
class _Plan:
    """One batch's columns, each row's canonical source language, and the (row, target) jobs
    that passed the checks (the rest are already in ``rejections``)."""

    ids: list[str]
    sources: list[str]
    texts: list[str | None]
    metas: list
    rejections: Rejections
    srcs: list[str | None] = field(default_factory=list)
    jobs: list[tuple[int, str]] = field(default_factory=list)


def _canonical(code: str, side: str) -> str:
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError) as exc:
        raise LanguageNotSupported(f"cannot read {side} language {code!r}: {exc}") from exc
