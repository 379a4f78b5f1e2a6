"""Runner-free machine translation with CTranslate2.

Three layers, each usable alone:

- :class:`ModelInfo`: a cheap look at a model directory (config, language tags, sentencepiece
  files, a model id) without loading weights; small enough to pickle with a stage.
- :class:`Ct2Engine`: the loaded ``ctranslate2.Translator``; token lists in, token lists out.
  Plain-list arguments let it sit behind Beam's cross-process model sharing on a GPU worker.
- :class:`Ct2Translator`: text in, :class:`Translation` out: sentence splitting, sentencepiece,
  language tags, truncation flags, de-duplication, and one token-batched engine call per batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from corpusforge.mt.sentences import Sentences, split_sentences
from corpusforge.mt.tokenize import (
    CONVENTIONS,
    ConventionName,
    LanguageTags,
    SentencePieceTokenizer,
    detect_convention,
)


def missing_mt_packages(*, split_sentences: bool = True, round_trip: bool = False) -> list[str]:
    """The packages of the ``mt`` extra a translation needs and this Python lacks: CTranslate2
    and sentencepiece always, sentencex to split sentences, sacrebleu to score a round trip.
    Looked up without importing them (a recipe check, before any worker starts)."""
    needed = ["ctranslate2", "sentencepiece", *(["sentencex"] if split_sentences else []), *(["sacrebleu"] if round_trip else [])]
    return [name for name in needed if find_spec(name) is None]


Device = Literal["auto", "cpu", "cuda"]
ComputeType = Literal["auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "float16", "bfloat16", "float32"]

log = logging.getLogger("corpusforge.mt")

# Sentencepiece file names as converted models ship them (--copy_files), in order of preference.
SHARED_SPM_NAMES = ("sentencepiece.bpe.model", "spm.model", "sentencepiece.model", "source.spm")


class ModelDirectoryError(ValueError):
    """A model directory that is missing or is not a usable CTranslate2 translation model."""


@dataclass(frozen=True)
class ModelInfo:
    """What a CTranslate2 model directory says about itself, read without loading weights
    (cost: reading config.json and the vocabulary, ~0.2 s for NLLB's 256k tokens)."""

    path: Path
    model_id: str
    tags: LanguageTags
    source_spm: Path
    target_spm: Path

    @property
    def convention(self) -> str:
        return self.tags.convention.name

    @classmethod
    def read(
        cls,
        path: Path | str,
        *,
        convention: ConventionName = "auto",
        source_spm: Path | str | None = None,
        target_spm: Path | str | None = None,
        model_id: str | None = None,
    ) -> ModelInfo:
        path = Path(path).expanduser()
        if not path.is_dir():
            raise ModelDirectoryError(f"CTranslate2 model directory {path} does not exist")
        missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
        if missing:
            raise ModelDirectoryError(
                f"{path} is not a CTranslate2 model directory (no {', '.join(missing)}); "
                "convert a Hugging Face model with ct2-transformers-converter first"
            )
        vocab_files, vocabulary = _read_vocabularies(path)
        source, target = _find_spm(path, source_spm, target_spm)
        chosen = (
            detect_convention(vocabulary, has_marian_spm=(path / "target.spm").is_file())
            if convention == "auto"
            else CONVENTIONS[convention]
        )
        if model_id is None:
            digest = hashlib.blake2b(digest_size=6)
            for file in [path / "config.json", *vocab_files]:
                digest.update(file.read_bytes())
            digest.update(str((path / "model.bin").stat().st_size).encode())
            model_id = f"{path.name}@{digest.hexdigest()}"
        return cls(path, model_id, LanguageTags.from_vocabulary(chosen, vocabulary, model=str(path)), source, target)


def _read_vocabularies(path: Path) -> tuple[list[Path], list[str]]:
    """Vocabulary files (shared, or source + target; .json since CTranslate2 3.x, .txt before)
    and their tokens, source first."""
    files: list[Path] = []
    tokens: list[str] = []
    for stem in ("shared_vocabulary", "source_vocabulary", "target_vocabulary"):
        for suffix in (".json", ".txt"):
            file = path / f"{stem}{suffix}"
            if file.is_file():
                files.append(file)
                text = file.read_text(encoding="utf-8")
                tokens += json.loads(text) if suffix == ".json" else text.splitlines()
                break
    if not files:
        raise ModelDirectoryError(f"{path} has no vocabulary file (shared_vocabulary.json or source_/target_vocabulary.json)")
    return files, tokens


def _find_spm(path: Path, source: Path | str | None, target: Path | str | None) -> tuple[Path, Path]:
    if source is None:
        found = [path / name for name in SHARED_SPM_NAMES if (path / name).is_file()]
        if not found:
            raise ModelDirectoryError(
                f"no sentencepiece model in {path} (looked for {', '.join(SHARED_SPM_NAMES)}); copy it there "
                "(ct2-transformers-converter --copy_files) or pass source_spm"
            )
        source = found[0]
    if target is None:
        target = path / "target.spm" if Path(source).name == "source.spm" and (path / "target.spm").is_file() else source
    for file in (source, target):
        if not Path(file).is_file():
            raise ModelDirectoryError(f"sentencepiece model {file} does not exist")
    return Path(source), Path(target)


class Ct2Engine:
    """A loaded ``ctranslate2.Translator``. Loading costs the model's size in memory (and GPU
    memory on CUDA); create it in the worker, never in a process that forks afterwards.

    A call that runs out of (GPU) memory is retried with half the token batch size, down to
    one sentence per batch; the smaller size is kept for later calls (logged as a warning), so
    a ``max_batch_tokens`` too large for the card slows a run instead of failing it.
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        device: Device = "auto",
        compute_type: ComputeType = "auto",
        inter_threads: int = 1,
        intra_threads: int = 0,
    ):
        import ctranslate2

        try:
            self._translator = ctranslate2.Translator(
                str(model_dir), device=device, compute_type=compute_type, inter_threads=inter_threads, intra_threads=intra_threads
            )
        except (RuntimeError, OSError) as exc:
            if device != "cuda":
                raise
            # CTranslate2's own message names a CUDA call ("driver version is insufficient"
            # where there is no GPU at all); say what the worker needs instead.
            raise RuntimeError(
                f"cannot load {model_dir} on CUDA ({exc}); CTranslate2 sees "
                f"{ctranslate2.get_cuda_device_count()} CUDA device(s) here. Its PyPI wheels need an NVIDIA "
                "driver for CUDA 12 and the CUDA 12 cuBLAS and cuDNN 9 libraries (pip install 'corpusforge[gpu]'); "
                "device: auto falls back to the CPU"
            ) from exc
        self.batch_cap: int | None = None  # max_batch_size after an out-of-memory back-off

    @property
    def device(self) -> str:
        return self._translator.device

    @property
    def compute_type(self) -> str:
        return self._translator.compute_type

    def translate_tokens(self, sources: list[list[str]], prefixes: list[list[str] | None], options: dict) -> list[tuple[list[str], float]]:
        """Best hypothesis and its score for each source, in input order. ``options`` are
        ``translate_batch`` keyword arguments (CTranslate2 sorts by length inside, restores order)."""
        if not sources:
            return []
        while True:
            size = min(options["max_batch_size"], self.batch_cap or options["max_batch_size"])
            try:
                results = self._translator.translate_batch(
                    sources, target_prefix=prefixes, return_scores=True, **{**options, "max_batch_size": size}
                )
                return [(r.hypotheses[0], r.scores[0]) for r in results]
            except RuntimeError as exc:
                if "out of memory" not in str(exc) or size <= 1:
                    raise
                # never above a smaller size another call (thread, or process sharing the GPU) found
                self.batch_cap = min(self.batch_cap or size, size // 2)
                log.warning("%s; retrying with max_batch_size %d (was %d)", exc, self.batch_cap, size)


@dataclass(frozen=True)
class Translation:
    """One translated text. ``score``: CTranslate2's log-probability divided by
    length^length_penalty (the mean per-token log-probability with the default penalty 1),
    averaged over sentences weighted by their target tokens; None for a text with no sentences.
    ``truncated``: some sentence had more than ``max_input_length`` tokens and was cut."""

    text: str
    score: float | None
    truncated: bool
    sentences: int
    source_tokens: int
    target_tokens: int


class Ct2Translator:
    """Translate texts with any CTranslate2 model directory (NLLB, M2M-100, Marian/OPUS-MT, generic).

    Construction reads only the directory's config and vocabulary (cheap, picklable); weights
    load in :meth:`setup` (or on first use). One :meth:`translate` call makes one engine call
    for all its sentences and targets, batched by ``max_batch_tokens`` tokens, sorted by
    length inside CTranslate2 and returned in input order; identical (sentence, target) pairs
    are translated once.
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        device: Device = "auto",
        compute_type: ComputeType = "auto",
        beam_size: int = 4,
        max_batch_tokens: int = 4096,
        max_input_length: int = 512,
        max_decoding_length: int = 256,
        min_decoding_length: int = 1,
        length_penalty: float = 1.0,
        split_sentences: bool = True,
        inter_threads: int = 1,
        intra_threads: int = 0,
        convention: ConventionName = "auto",
        source_spm: Path | str | None = None,
        target_spm: Path | str | None = None,
        model_id: str | None = None,
    ):
        for name, value, low in (
            ("beam_size", beam_size, 1),
            ("max_batch_tokens", max_batch_tokens, 1),
            ("max_input_length", max_input_length, 0),
            ("max_decoding_length", max_decoding_length, 1),
            ("min_decoding_length", min_decoding_length, 0),
            ("inter_threads", inter_threads, 1),
            ("intra_threads", intra_threads, 0),
        ):
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if min_decoding_length > max_decoding_length:
            raise ValueError(f"min_decoding_length {min_decoding_length} exceeds max_decoding_length {max_decoding_length}")
        self.info = ModelInfo.read(model_dir, convention=convention, source_spm=source_spm, target_spm=target_spm, model_id=model_id)
        self.device = device
        self.compute_type = compute_type
        self.inter_threads = inter_threads
        self.intra_threads = intra_threads
        self.max_input_length = max_input_length
        self.split_sentences = split_sentences
        self.options = {
            "beam_size": beam_size,
            "max_batch_size": max_batch_tokens,
            "batch_type": "tokens",
            "max_input_length": 0,  # truncation happens in LanguageTags.frame, which keeps tags and EOS
            "max_decoding_length": max_decoding_length,
            "min_decoding_length": min_decoding_length,
            "length_penalty": length_penalty,
        }
        self.tokenizer = SentencePieceTokenizer(self.info.source_spm, self.info.target_spm)
        self.engine: Ct2Engine | None = None

    def __getstate__(self):
        return {**self.__dict__, "engine": None}

    @property
    def tags(self) -> LanguageTags:
        return self.info.tags

    def uses_gpu(self) -> bool:
        """Whether the engine runs on CUDA: ``device="cuda"``, or ``auto`` where CTranslate2
        sees a CUDA device (what ``auto`` resolves to). Counting devices initialises the CUDA
        driver in this process, so call it only where the model will load."""
        if self.device != "auto":
            return self.device == "cuda"
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0

    def load_engine(self) -> Ct2Engine:
        """A new engine with this translator's device and threads (what Beam's handler shares)."""
        return Ct2Engine(
            self.info.path,
            device=self.device,
            compute_type=self.compute_type,
            inter_threads=self.inter_threads,
            intra_threads=self.intra_threads,
        )

    def setup(self, engine: Ct2Engine | None = None) -> None:
        """Load the model, or use ``engine`` (e.g. one shared across processes)."""
        if engine is not None:
            self.engine = engine
        elif self.engine is None:
            self.engine = self.load_engine()

    def describe(self) -> dict:
        """What identifies this translator's output (for Parquet metadata and manifests)."""
        return {"model": self.info.model_id, "convention": self.info.convention, "compute_type": self.compute_type, **self.options}

    def check_languages(self, src_lang: str | None, tgt_lang: str | None) -> None:
        """Raise ``LanguageNotSupported`` (a ValueError) for a language the model lacks, or
        ValueError when the convention needs a language that is not given."""
        tags = self.info.tags
        if not tags.multilingual:
            return
        convention = tags.convention
        if convention.source_tag:
            if src_lang is None:
                raise ValueError(f"{self.info.model_id} ({convention.name}) needs the source language")
            tags.tag(src_lang)
        if convention.target_prefix or convention.target_tag_in_source:
            if tgt_lang is None:
                raise ValueError(f"{self.info.model_id} ({convention.name}) needs the target language")
            tags.tag(tgt_lang)

    def translate(
        self,
        texts: Sequence[str],
        *,
        tgt_lang: str | Sequence[str | None] | None = None,
        src_lang: str | Sequence[str | None] | None = None,
    ) -> list[Translation]:
        """One :class:`Translation` per text, in order. ``src_lang``/``tgt_lang`` are one code
        for all texts or one per text (any form :func:`corpusforge.languages.canonical` reads)."""
        n = len(texts)
        src_langs = _per_item(src_lang, n, "src_lang")
        tgt_langs = _per_item(tgt_lang, n, "tgt_lang")
        for pair in set(zip(src_langs, tgt_langs)):
            self.check_languages(*pair)
        self.setup()
        docs: list[Sentences] = [
            split_sentences(text, src) if self.split_sentences else Sentences.whole(text) for text, src in zip(texts, src_langs)
        ]
        owner = [i for i, doc in enumerate(docs) for _ in doc.sentences]
        pieces = self.tokenizer.encode([s for doc in docs for s in doc.sentences])

        unique: dict[tuple, int] = {}
        jobs: list[int] = []  # sentence -> index into unique requests
        sources: list[list[str]] = []
        prefixes: list[list[str] | None] = []
        truncated: list[bool] = []
        for doc_index, sentence_pieces in zip(owner, pieces):
            source, prefix, cut = self.info.tags.frame(
                sentence_pieces, src_lang=src_langs[doc_index], tgt_lang=tgt_langs[doc_index], max_length=self.max_input_length
            )
            key = (tuple(source), tuple(prefix) if prefix else None)
            if key not in unique:
                unique[key] = len(sources)
                sources.append(source)
                prefixes.append(prefix)
            jobs.append(unique[key])
            truncated.append(cut)
        assert self.engine is not None  # self.setup() above loaded it
        results = self.engine.translate_tokens(sources, prefixes, self.options)
        outputs = [self._strip_tags(tokens) for tokens, _ in results]
        decoded = self.tokenizer.decode(outputs)

        per_doc: list[list[int]] = [[] for _ in range(n)]
        for sentence, doc_index in enumerate(owner):
            per_doc[doc_index].append(sentence)
        translations = []
        for doc_index, doc in enumerate(docs):
            members = per_doc[doc_index]
            weights = [len(outputs[jobs[s]]) + 1 for s in members]  # + EOS, as CTranslate2 counts it
            scores = [results[jobs[s]][1] for s in members]
            translations.append(
                Translation(
                    text=doc.join([decoded[jobs[s]] for s in members], lang=tgt_langs[doc_index]),
                    score=sum(s * w for s, w in zip(scores, weights)) / sum(weights) if members else None,
                    truncated=any(truncated[s] for s in members),
                    sentences=len(members),
                    source_tokens=sum(len(pieces[s]) for s in members),
                    target_tokens=sum(weights) - len(members),
                )
            )
        return translations

    def _strip_tags(self, tokens: list[str]) -> list[str]:
        """Drop language tags that open a hypothesis (the forced target prefix of NLLB/M2M)."""
        tags = self.info.tags.tags
        start = 0
        while start < len(tokens) and tokens[start] in tags:
            start += 1
        return tokens[start:]


def _per_item(value: str | Sequence[str | None] | None, n: int, name: str) -> list[str | None]:
    if value is None or isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} texts")
    return values
