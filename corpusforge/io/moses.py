"""Moses-style parallel text: two line-aligned files (``corpus.en`` + ``corpus.hi``) read in lockstep."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import BinaryIO

from corpusforge.io.base import (
    MIB,
    FileBatches,
    Line,
    Reader,
    as_file_rejection,
    declared_language,
    is_blank,
    log,
    open_input,
    read_lines,
)
from corpusforge.io.compression import Opener, strip_compression
from corpusforge.languages import alpha2, language_of
from corpusforge.records import Split


class MosesReader(Reader):
    """Sentence pairs from ``<name>.<src_suffix>`` and ``<name>.<tgt_suffix>`` (same compression).

    ``read`` takes the source-side path and derives the target side. Suffixes default to the
    languages' ISO 639-1 codes (ISO 639-3 where none exists). Line N of one file pairs with
    line N of the other; when one file is longer, each line of its tail is rejected as
    ``unpaired_line`` and a warning names both files.
    """

    kind = "bitext"

    def __init__(
        self,
        *,
        src_lang: str,
        tgt_lang: str,
        src_suffix: str | None = None,
        tgt_suffix: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.src_lang = declared_language(src_lang)
        self.tgt_lang = declared_language(tgt_lang)
        self.src_suffix = src_suffix or alpha2(self.src_lang) or language_of(self.src_lang)
        self.tgt_suffix = tgt_suffix or alpha2(self.tgt_lang) or language_of(self.tgt_lang)
        if self.src_suffix == self.tgt_suffix:
            raise ValueError(f"source and target suffixes are both {self.src_suffix!r}; set src_suffix/tgt_suffix")

    def target_path(self, path: str) -> str:
        """The target-side file of a source-side path: ``data/corpus.en.gz`` -> ``data/corpus.hi.gz``."""
        stem, ext = strip_compression(path)
        if not stem.endswith("." + self.src_suffix):
            raise ValueError(f"{path}: a Moses source-side file must be named *.{self.src_suffix}{ext}")
        return stem[: -len(self.src_suffix)] + self.tgt_suffix + ext

    def _read(self, path: str, batches: FileBatches, opener: Opener) -> Iterator[Split]:
        tgt_path = self.target_path(path)
        with open_input(path, opener) as src_stream, open_input(tgt_path, opener) as tgt_stream:
            pairs = itertools.zip_longest(
                read_lines(src_stream, self.max_line_bytes, refuse_binary=True), self._target_lines(tgt_stream, tgt_path)
            )
            unpaired = 0
            for src, tgt in pairs:
                if src is None or tgt is None:
                    unpaired += 1
                    longer, shorter = (tgt_path, path) if src is None else (path, tgt_path)
                    line = tgt if src is None else src
                    detail = f"line {line.number} of {longer} has no partner in {shorter}"
                    batches.reject(line.number, "unpaired_line", detail, line.raw, file=longer)
                    size = line.size
                else:
                    self._pair(src, tgt, batches, tgt_path)
                    size = src.size + tgt.size
                split = batches.consumed(size)
                if split is not None:
                    yield split
            if unpaired:
                log.warning("%s has %d more lines than %s", longer, unpaired, shorter)

    def _target_lines(self, stream: BinaryIO, tgt_path: str) -> Iterator[Line]:
        """The target side's lines; damaged compressed data there is blamed on ``tgt_path``."""
        try:
            yield from read_lines(stream, self.max_line_bytes, refuse_binary=True)
        except Exception as exc:
            ended = as_file_rejection(exc, tgt_path)
            if ended is None:
                raise
            ended.file = ended.file or tgt_path
            raise ended from exc

    def _pair(self, src: Line, tgt: Line, batches: FileBatches, tgt_path: str) -> None:
        if not (src.reason or tgt.reason) and src.text and tgt.text and not src.text.isspace() and not tgt.text.isspace():
            batches.keep(src.number, {"src_text": src.text, "tgt_text": tgt.text, "src_lang": self.src_lang, "tgt_lang": self.tgt_lang})
            return  # the common case; the loop below says why a pair is refused
        for side, line, file in (("source", src, batches.path), ("target", tgt, tgt_path)):
            if line.reason:
                batches.reject(line.number, line.reason, f"{side} side ({file}): {line.detail}", line.raw, file=file)
                return
            assert line.text is not None  # no reason, so read_lines gave text
            if is_blank(line.text):
                pair = src.raw + b"\t" + tgt.raw
                batches.reject(line.number, "empty_text", f"{side} side ({file}) is empty", pair, file=file)
                return
        raise AssertionError("a pair with two usable sides reached the rejection path")
