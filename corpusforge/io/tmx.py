"""TMX 1.4 translation memories, streamed; DTDs' entities are never expanded.

Parsing goes through defusedxml, which refuses entity declarations (internal ones, the
"billion laughs" kind, and external SYSTEM ones that would read local files) before any
expansion; a plain ``<!DOCTYPE tmx SYSTEM "tmx14.dtd">`` is allowed and never fetched.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from corpusforge.io.base import MIB, FileBatches, Reader, as_id, declared_language, is_blank, open_input
from corpusforge.io.compression import Opener
from corpusforge.languages import LanguageCodeError, same_language
from corpusforge.records import Split

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class TmxReader(Reader):
    """Sentence pairs from the ``<tu>`` units of a TMX file, position = 1-based ``<tu>`` index.

    A ``<tuv>`` matches a wanted language by language (``en-US`` matches ``eng_Latn``), via
    ``xml:lang`` or the old ``lang`` attribute; its ``<seg>`` text includes inline markup's
    text, whitespace-trimmed; ``tuid`` is the id. Elements match by local name, so a TMX in a
    default namespace reads the same. Memory holds one unit at a time. A unit
    lacking a language or with an empty ``<seg>`` is rejected (``tmx_bad_unit``); a file that
    stops being well-formed (or declares an encoding that cannot decode it) keeps the units
    before and ends with one ``malformed_xml`` row.
    """

    kind = "bitext"

    def __init__(self, *, src_lang: str, tgt_lang: str, batch_bytes: int = MIB, max_line_bytes: int = MIB):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.src_lang = declared_language(src_lang)
        self.tgt_lang = declared_language(tgt_lang)

    def _read(self, path: str, batches: FileBatches, opener: Opener) -> Iterator[Split]:
        with open_input(path, opener) as raw:
            stream = _CountingReader(raw)
            index = counted = 0
            body = None
            try:
                for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=False):
                    if event == "start":
                        if _local(element.tag) == "body":
                            body = element
                        continue
                    if _local(element.tag) != "tu":
                        continue
                    index += 1
                    self._unit(element, index, batches)
                    # Drop finished units so memory stays at one unit, however long the file.
                    (body if body is not None else element).clear()
                    split = batches.consumed(stream.bytes_read - counted)
                    counted = stream.bytes_read
                    if split is not None:
                        yield split
            except DefusedXmlException as exc:
                batches.reject(index + 1, "tmx_forbidden_dtd", f"entity declarations are not read, never expanded: {exc!r}")
            except ParseError as exc:
                batches.reject(index + 1, "malformed_xml", f"XML not well-formed after {index} units: {exc}")
            except (LookupError, UnicodeError) as exc:  # an unknown or wrong declared encoding
                batches.reject(index + 1, "malformed_xml", f"XML not decodable after {index} units: {exc}")

    def _unit(self, tu, index: int, batches: FileBatches) -> None:
        own_id = as_id(tu.get("tuid"))
        tuvs = []
        for tuv in _children(tu, "tuv"):
            seg = next(_children(tuv, "seg"), None)
            text = "".join(seg.itertext()).strip() if seg is not None else ""
            tuvs.append((tuv.get(_XML_LANG) or tuv.get("lang") or "", text))
        src = _first(tuvs, self.src_lang, skip=None)
        tgt = _first(tuvs, self.tgt_lang, skip=src)
        problem = self._problem(tuvs, src, tgt)
        if problem:
            preview = "\t".join(f"{lang}: {text}" for lang, text in tuvs)
            batches.reject(index, *problem, preview, own_id=own_id)
            return
        fields = {"src_text": tuvs[src][1], "tgt_text": tuvs[tgt][1], "src_lang": self.src_lang, "tgt_lang": self.tgt_lang}
        batches.keep(index, fields, own_id)

    def _problem(self, tuvs: list[tuple[str, str]], src: int | None, tgt: int | None) -> tuple[str, str] | None:
        for wanted, found in ((self.src_lang, src), (self.tgt_lang, tgt)):
            if found is None:
                return "tmx_bad_unit", f"no <tuv> in {wanted} (found: {', '.join(lang for lang, _ in tuvs) or 'none'})"
            if is_blank(tuvs[found][1]):
                return "tmx_bad_unit", f"empty <seg> in {tuvs[found][0]}"
        if sum(len(tuvs[i][1].encode("utf-8")) for i in (src, tgt)) > self.max_line_bytes:
            return "line_too_long", f"unit text over max_line_bytes={self.max_line_bytes}"
        return None


def _local(tag: str) -> str:
    """A tag without its namespace: ``{http://x}tu`` -> ``tu`` (namespaced TMX files exist)."""
    return tag.rsplit("}", 1)[-1]


def _children(element, tag: str) -> Iterator:
    """``element``'s children whose local name is ``tag``, in any namespace."""
    return (child for child in element if _local(child.tag) == tag)


def _first(tuvs: list[tuple[str, str]], wanted: str, skip: int | None) -> int | None:
    """Index of the first ``<tuv>`` in the ``wanted`` language (other than ``skip``)."""
    for i, (lang, _) in enumerate(tuvs):
        if i != skip and lang:
            try:
                if same_language(lang, wanted):
                    return i
            except LanguageCodeError:
                continue
    return None


class _CountingReader:
    """Counts the decompressed bytes the parser has read, for byte-sized chunks and progress."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.bytes_read += len(data)
        return data
