"""TMX 1.4 translation memories, streamed; a DTD's entities are never expanded in text and
never read from a file or URL.

Parsing goes through defusedxml's parser with expat told not to expand: a DTD's internal
subset is read (declarations only), a reference to an entity in a unit's text is passed to
the reader unexpanded, and that unit alone is rejected (``tmx_entity``); parameter entities
and external subsets (``<!DOCTYPE tmx SYSTEM "tmx14.dtd">``) are never fetched. XML expands
entities inside attribute values whatever the parser asks, so an entity whose expansion would
exceed ``max_line_bytes`` (the "billion laughs" kind) is refused where it is declared, before
any expansion: the file ends there with one ``xml_entity_bomb`` row.
"""

from __future__ import annotations

import pyexpat
import re
from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml.ElementTree import DefusedXMLParser, ParseError, iterparse

from corpusforge.io.base import MIB, FileBatches, FileRejected, Reader, as_id, declared_language, is_blank, open_input
from corpusforge.io.compression import Opener
from corpusforge.languages import LanguageCodeError, same_language
from corpusforge.records import Split

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ENTITY_MARK = "\x00"  # wraps an unexpanded entity's name in the text: XML text never holds NUL
_ENTITY_REF = re.compile(r"&([^;&#\s]+);")
_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
_OVERSIZED = "\x00oversized"  # set on a <tu> whose <seg> text went past max_line_bytes (never an XML name)


class _EntityBomb(Exception):
    def __init__(self, name: str, size: int):
        super().__init__(name, size)
        self.name, self.size = name, size


class _BoundedTarget:
    """The tree builder behind the parser, keeping at most ``max_seg_bytes`` of each ``<seg>``'s
    text: past that, the rest of the text is counted and dropped (never held), and the unit is
    marked so the reader rejects it (``line_too_long``). expat hands text over in pieces of the
    16 KiB the parser is fed, so a 100 MB ``<seg>`` never exists in memory."""

    def __init__(self, max_seg_bytes: int):
        self._builder = TreeBuilder()
        self._limit = max_seg_bytes
        self._unit: Element | None = None  # the open <tu>
        self._seg_bytes = 0

    def start(self, tag: str, attrs: dict):
        element = self._builder.start(tag, attrs)
        name = _local(tag)
        if name == "tu":
            self._unit = element
        elif name == "seg":
            self._seg_bytes = 0
        return element

    def end(self, tag: str):
        return self._builder.end(tag)

    def data(self, text: str) -> None:
        if self._seg_bytes > self._limit:
            self._seg_bytes += len(text)  # characters, at least: what the message reports
            return
        self._seg_bytes += len(text.encode("utf-8", "surrogatepass"))
        if self._seg_bytes > self._limit and self._unit is not None:
            self._unit.set(_OVERSIZED, "1")
            return
        self._builder.data(text)

    def close(self):
        return self._builder.close()


class _UnexpandingParser(DefusedXMLParser):
    """defusedxml's XML parser that reads a DTD's declarations and never expands an entity in
    text: each reference becomes ``\x00name\x00`` in the element's text (internal, external and
    undeclared-but-allowed ones alike), nothing is fetched. Declared entities are sized without
    expanding them; one larger than ``max_entity_bytes`` raises :class:`_EntityBomb`."""

    def __init__(self, *, max_entity_bytes: int):
        super().__init__(target=_BoundedTarget(max_entity_bytes), forbid_dtd=False, forbid_entities=False, forbid_external=False)
        self._max_entity_bytes = max_entity_bytes
        self._sizes: dict[str, int] = {}
        expat = self.parser
        expat.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        # A non-expanding default handler turns off expat's expansion of internal entities in
        # text: their references go to SkippedEntityHandler instead.
        expat.DefaultHandler = self._default
        expat.SkippedEntityHandler = self._skipped
        expat.ExternalEntityRefHandler = self._external
        expat.EntityDeclHandler = self._declared

    def _mark(self, name: str) -> None:
        self.target.data(f"{_ENTITY_MARK}{name}{_ENTITY_MARK}")

    def _skipped(self, name: str, is_parameter_entity: bool) -> None:
        if not is_parameter_entity:
            self._mark(name)

    def _external(self, context: str, base, system_id, public_id) -> int:
        self._mark(context.rsplit("\x0c", 1)[-1])  # expat's context ends with the entity name
        return 1  # "handled": nothing is read

    def _declared(self, name: str, is_parameter_entity: bool, value: str | None, *_) -> None:
        if is_parameter_entity or value is None:
            return
        refs = _ENTITY_REF.findall(value)
        size = len(_ENTITY_REF.sub("", value).encode("utf-8")) + sum(1 if ref in _PREDEFINED else self._sizes.get(ref, 0) for ref in refs)
        self._sizes[name] = size
        if size > self._max_entity_bytes:
            raise _EntityBomb(name, size)


class TmxReader(Reader):
    """Sentence pairs from the ``<tu>`` units of a TMX file, position = 1-based ``<tu>`` index.

    A ``<tuv>`` matches a wanted language by language (``en-US`` matches ``eng_Latn``), via
    ``xml:lang`` or the old ``lang`` attribute; its ``<seg>`` text includes inline markup's
    text, whitespace-trimmed; ``tuid`` is the id. Elements match by local name, so a TMX in a
    default namespace reads the same. Memory holds one unit at a time, and at most
    ``max_line_bytes`` of one ``<seg>`` (a longer one is rejected as ``line_too_long`` without
    being held). A unit
    lacking a language or with an empty ``<seg>`` is rejected (``tmx_bad_unit``), one whose text
    uses an entity of the DTD as ``tmx_entity`` (the other units are kept); a file that
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
                parser = _UnexpandingParser(max_entity_bytes=self.max_line_bytes)
                for event, element in iterparse(stream, events=("start", "end"), parser=parser):
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
            except _EntityBomb as exc:
                detail = f"{path}: the DTD declares entity {exc.name!r}, which would expand to {exc.size:,} bytes (over max_line_bytes={self.max_line_bytes}); it is never expanded, and the units after it are not read"
                raise FileRejected("xml_entity_bomb", detail, position=index + 1) from None
            except ParseError as exc:
                batches.reject(index + 1, "malformed_xml", f"XML not well-formed after {index} units: {exc}")
            except (LookupError, UnicodeError) as exc:  # an unknown or wrong declared encoding
                batches.reject(index + 1, "malformed_xml", f"XML not decodable after {index} units: {exc}")

    def _unit(self, tu, index: int, batches: FileBatches) -> None:
        own_id = as_id(tu.get("tuid"))
        if tu.get(_OVERSIZED):
            detail = f"a <seg> of the unit is over max_line_bytes={self.max_line_bytes}; the rest of its text was skipped unread"
            batches.reject(index, "line_too_long", detail, own_id=own_id)
            return
        marked = "".join(tu.itertext()).split(_ENTITY_MARK)[1::2]
        if marked:
            names = ", ".join(dict.fromkeys(f"&{name};" for name in marked))
            detail = f"the unit uses entities declared in the DTD ({names}), which are never expanded"
            batches.reject(index, "tmx_entity", detail, own_id=own_id)
            return
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
        assert src is not None and tgt is not None  # _problem found both
        fields = {"src_text": tuvs[src][1], "tgt_text": tuvs[tgt][1], "src_lang": self.src_lang, "tgt_lang": self.tgt_lang}
        batches.keep(index, fields, own_id)

    def _problem(self, tuvs: list[tuple[str, str]], src: int | None, tgt: int | None) -> tuple[str, str] | None:
        for wanted, found in ((self.src_lang, src), (self.tgt_lang, tgt)):
            if found is None:
                return "tmx_bad_unit", f"no <tuv> in {wanted} (found: {', '.join(lang for lang, _ in tuvs) or 'none'})"
            if is_blank(tuvs[found][1]):
                return "tmx_bad_unit", f"empty <seg> in {tuvs[found][0]}"
        assert src is not None and tgt is not None  # the loop returned otherwise
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
