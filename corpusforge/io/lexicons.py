"""Entity-lexicon inputs for code-switching: Wikidata JSON dumps (streamed as
:data:`~corpusforge.codeswitch.lexicon.LEXICON_SCHEMA` batches, bad lines as rejected rows) and
a user's TSV/JSONL lexicon file (configuration: a bad line fails before the run).

Language codes are canonical (``hin_Deva``), mapped through :func:`corpusforge.languages.canonical`.
When several source codes map to one canonical code (Wikidata ``en`` and ``en-gb``) the shortest
code wins, so the plain language's label is kept.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import pyarrow as pa

from corpusforge.codeswitch.lexicon import LEXICON_SCHEMA, Entity, EntityLexicon, entities_table
from corpusforge.io.base import MIB, Line, read_lines
from corpusforge.io.compression import Opener, open_binary, open_input, strip_compression
from corpusforge.languages import LanguageCodeError, canonical, code_or_none
from corpusforge.records import Rejections, Split, stable_id

LEXICON_KIND = "lexicon"  # the `kind` of rejected rows from lexicon inputs


# --- language codes of the sources --------------------------------------------------------


# Canonical code for a Wikidata or Babel language code; None for codes that name no single
# language or script (Wikidata ``mul``, ``simple``). Cached: a dump repeats a few hundred codes.
canonical_or_none = functools.lru_cache(maxsize=8192)(code_or_none)


def _shortest_first(codes: Iterable[str]) -> list[str]:
    return sorted(codes, key=lambda c: (len(c), c))


# --- Wikidata JSON dumps -------------------------------------------------------------------


class LineChunk(NamedTuple):
    """Raw lines of one dump file, cut at about ``chunk_bytes``: what the Beam build reshuffles
    so that parsing spreads over workers while one worker decompresses the file."""

    source: str
    path: str
    file_key: str
    lines: list[Line]


class WikidataDumpReader:
    """Streams a Wikidata JSON dump (``latest-all.json.bz2``/``.gz`` or plain): a JSON array
    written one entity per line (``[``, ``{...},``, ..., ``{...}``, ``]``), into
    :data:`LEXICON_SCHEMA` batches.

    Keeps items (``Q`` ids) with at least one label in ``languages`` (all languages when None),
    their aliases in those languages when ``aliases``, the ``enwiki`` sitelink title, and the
    sitelink count as popularity; ``require_enwiki`` keeps only entities with an English
    Wikipedia page. Lines that are not JSON objects, or are longer than ``max_line_bytes``, become
    rejected rows (kind ``lexicon``, stage ``read``); entities filtered out are counted, not
    rejected. Cost: one ``json.loads`` per entity line; decompression streams.
    """

    def __init__(
        self,
        *,
        languages: list[str] | None = None,
        aliases: bool = True,
        require_enwiki: bool = False,
        items_only: bool = True,
        chunk_bytes: int = 8 * MIB,
        max_line_bytes: int = 64 * MIB,
    ):
        if chunk_bytes <= 0 or max_line_bytes <= 0:
            raise ValueError(f"chunk_bytes and max_line_bytes must be positive, got {chunk_bytes}, {max_line_bytes}")
        try:
            self.languages = None if languages is None else frozenset(canonical(code) for code in languages)
        except LanguageCodeError as exc:
            raise ValueError(f"languages: {exc}") from exc
        self.aliases = aliases
        self.require_enwiki = require_enwiki
        self.items_only = items_only
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes

    def chunks(
        self, path: str, *, source: str = "wikidata", file_key: str | None = None, opener: Opener = open_binary
    ) -> Iterator[LineChunk]:
        """The file's lines in chunks of about ``chunk_bytes`` (decompressed by extension)."""
        key = file_key or os.path.basename(path)
        lines: list[Line] = []
        pending = 0
        with open_input(path, opener) as stream:
            for line in read_lines(stream, self.max_line_bytes):
                lines.append(line)
                pending += line.size
                if pending >= self.chunk_bytes:
                    yield LineChunk(source, path, key, lines)
                    lines, pending = [], 0
        if lines:
            yield LineChunk(source, path, key, lines)

    def parse(self, chunk: LineChunk) -> tuple[Split, int]:
        """Lexicon rows and rejected rows of one chunk, and how many entities were filtered out."""
        rejections = Rejections(stage="read", kind=LEXICON_KIND)
        entities: list[Entity] = []
        filtered = 0
        for line in chunk.lines:
            problem = (line.reason, line.detail) if line.reason else None
            if problem is None:
                assert line.text is not None  # read_lines gives text whenever it gives no reason
                text = line.text.strip().rstrip(",")
                if text in ("", "[", "]"):
                    continue
                try:
                    obj = json.loads(text)
                    entity = self.entity(obj)
                except (ValueError, RecursionError) as exc:
                    problem = ("invalid_json", f"malformed JSON: {exc}")
                except (AttributeError, KeyError, TypeError) as exc:
                    problem = ("bad_entity", f"not a Wikidata entity: {type(exc).__name__}: {exc}")
                else:
                    if entity is None:
                        filtered += 1
                    else:
                        entities.append(entity)
            if problem is not None:
                rejections.add(
                    id=stable_id(chunk.source, chunk.file_key, line.number),
                    source=chunk.source,
                    reason=problem[0],
                    detail=problem[1],
                    file=chunk.path,
                    offset=line.number,
                    raw=line.raw,
                )
        kept = entities_table(entities, source=chunk.source).combine_chunks().to_batches()
        batch = kept[0] if kept else pa.RecordBatch.from_pylist([], schema=LEXICON_SCHEMA)
        return Split(batch, rejections.to_batch()), filtered

    def read(
        self, path: str, *, source: str = "wikidata", file_key: str | None = None, opener: Opener = open_binary
    ) -> Iterator[tuple[Split, int]]:
        """:meth:`parse` of every chunk of the file, in order."""
        for chunk in self.chunks(path, source=source, file_key=file_key, opener=opener):
            yield self.parse(chunk)

    def lexicon(self, path: str, *, source: str = "wikidata") -> EntityLexicon:
        """The whole dump as an in-memory lexicon (small dumps; rejected lines are dropped here,
        use :meth:`read` or the Beam build to keep them)."""
        tables = [split.kept for split, _ in self.read(path, source=source)]
        return EntityLexicon.from_table(pa.Table.from_batches(tables, schema=LEXICON_SCHEMA), name=source)

    def entity(self, obj: dict) -> Entity | None:
        """One dump entity as an :class:`Entity`, or None when the filters drop it."""
        if not isinstance(obj, dict):
            raise TypeError(f"a JSON {type(obj).__name__}, not an object")
        entity_id = obj["id"]
        if self.items_only and obj.get("type", "item") != "item":
            return None
        sitelinks = obj.get("sitelinks") or {}
        enwiki = (sitelinks.get("enwiki") or {}).get("title")
        if self.require_enwiki and not enwiki:
            return None
        labels: dict[str, str] = {}
        for code in _shortest_first((obj.get("labels") or {}).keys()):
            lang = canonical_or_none(code)
            if lang is not None and (self.languages is None or lang in self.languages):
                labels.setdefault(lang, obj["labels"][code]["value"])
        if not labels:
            return None
        aliases: dict[str, list[str]] = {}
        if self.aliases:
            for code in _shortest_first((obj.get("aliases") or {}).keys()):
                lang = canonical_or_none(code)
                if lang is not None and lang in labels:
                    names = aliases.setdefault(lang, [])
                    names += [a["value"] for a in obj["aliases"][code] if a["value"] not in names and a["value"] != labels[lang]]
        return Entity(entity_id, labels, {k: tuple(v) for k, v in aliases.items() if v}, obj.get("type"), enwiki, len(sitelinks))


# --- user lexicons -------------------------------------------------------------------------

USER_TSV_COLUMNS = ("id", "lang", "label", "aliases", "enwiki", "kind")


def read_user_lexicon(path: str, *, name: str | None = None, opener: Opener = open_binary) -> EntityLexicon:
    """A lexicon from a user's file, chosen by extension (compressed files too):

    - ``.tsv``: a header naming at least ``id``, ``lang``, ``label`` (also ``aliases``,
      ``|``-separated, ``enwiki``, ``kind``); one row per entity and language.
    - ``.jsonl``: one entity per line, ``{"id": ..., "labels": {lang: label}, "aliases":
      {lang: [names]}, "enwiki": ..., "kind": ...}``.

    Language codes may be anything :func:`canonical` reads. A malformed line raises ValueError
    naming ``path:line`` (a lexicon is configuration: it fails before the run).
    """
    plain, _ = strip_compression(path)
    name = name or os.path.basename(plain).rsplit(".", 1)[0]
    if plain.endswith(".tsv"):
        entities = _tsv_entities(path, opener)
    elif plain.endswith(".jsonl"):
        entities = _jsonl_entities(path, opener)
    else:
        raise ValueError(f"lexicon {path}: expected a .tsv or .jsonl file (optionally compressed)")
    return EntityLexicon(entities, name=name)


def _user_lines(path: str, opener: Opener) -> Iterator[tuple[int, str]]:
    with open_input(path, opener) as stream:
        for line in read_lines(stream, 16 * MIB):
            if line.reason:
                raise ValueError(f"{path}:{line.number}: {line.detail}")
            assert line.text is not None  # read_lines gives text whenever it gives no reason
            if line.text.strip():
                yield line.number, line.text


def _language(code: object, where: str) -> str:
    if not isinstance(code, str):
        raise ValueError(f"{where}: language {code!r} is not a string")
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _tsv_entities(path: str, opener: Opener) -> Iterator[Entity]:
    lines = _user_lines(path, opener)
    header_at, header = next(lines, (0, ""))
    columns = header.split("\t")
    missing = [c for c in ("id", "lang", "label") if c not in columns]
    if missing:
        raise ValueError(f"{path}:{header_at or 1}: the header must name columns id, lang, label; missing {missing}")
    unknown = [c for c in columns if c not in USER_TSV_COLUMNS]
    if unknown:
        raise ValueError(f"{path}:{header_at}: unknown columns {unknown}; known: {', '.join(USER_TSV_COLUMNS)}")
    for number, text in lines:
        values = text.split("\t")
        if len(values) != len(columns):
            raise ValueError(f"{path}:{number}: {len(values)} fields, the header has {len(columns)}")
        row = dict(zip(columns, values))
        lang = _language(row["lang"], f"{path}:{number}")
        if not row["id"] or not row["label"]:
            raise ValueError(f"{path}:{number}: id and label must not be empty")
        aliases = tuple(a for a in row.get("aliases", "").split("|") if a)
        yield Entity(
            row["id"], {lang: row["label"]}, {lang: aliases} if aliases else {}, row.get("kind") or None, row.get("enwiki") or None
        )


def _jsonl_entities(path: str, opener: Opener) -> Iterator[Entity]:
    for number, text in _user_lines(path, opener):
        where = f"{path}:{number}"
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{where}: malformed JSON: {exc}") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("labels"), dict):
            raise ValueError(f"{where}: expected an object with a string 'id' and a 'labels' object")
        labels = {_language(code, where): label for code, label in obj["labels"].items()}
        aliases = {_language(code, where): tuple(names) for code, names in (obj.get("aliases") or {}).items()}
        if not all(isinstance(v, str) and v for v in labels.values()) or not all(
            isinstance(a, str) for names in aliases.values() for a in names
        ):
            raise ValueError(f"{where}: labels and aliases must be non-empty strings")
        yield Entity(obj["id"], labels, aliases, obj.get("kind"), obj.get("enwiki"), obj.get("popularity"))
