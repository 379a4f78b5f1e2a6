"""JSON Lines: one JSON object per line; fields by (dotted) name, other top-level fields to meta."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from corpusforge.io.base import (
    MIB,
    AddRecord,
    FileBatches,
    Line,
    LineHandler,
    LineReader,
    PairRecords,
    SegmentRecords,
    declared_language,
    is_blank,
    meta_value,
)

# A \uD800-\uDFFF escape: json decodes it, but a lone one cannot be encoded as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# Parsed JSON takes far more memory than its text: "[1,1,1,...]" holds a Python object per two
# bytes (~40x the line). Lines longer than _CHECKED_CHARS have their values counted before they
# are parsed; over MAX_JSON_VALUES the line is rejected (``json_too_large``) unparsed.
MAX_JSON_VALUES = 1_000_000
_CHECKED_CHARS = 1 << 18
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def lookup(record: dict, path: str) -> Any:
    """``record[path]``, else the dotted path walked through nested objects; None when absent."""
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class _JsonlFormat(LineReader):
    """Parses each line into an object; the record shape mixin turns it into a record."""

    _columns: dict[str, str | None]
    _add: AddRecord  # from the record shape mixin

    def _line_handler(self, path: str, lines: Iterator[Line]) -> LineHandler:
        used = {name for name in self._columns.values() if name}
        top_level = used | {name.split(".", 1)[0] for name in used}  # kept out of meta

        def handle(line: Line, batches: FileBatches) -> None:
            record = parse_object(line, batches)
            if record is None:
                return
            values = {role: lookup(record, name) for role, name in self._columns.items() if name}
            meta = {key: meta_value(value) for key, value in record.items() if key not in top_level}
            self._add(batches, line.number, line.raw, values, meta or None)

        return handle


def parse_object(line: Line, batches: FileBatches) -> dict | None:
    """The line's JSON object, or None after rejecting the line with ``batches.reject`` (the
    evaluation-set reader passes its own collector with the same method)."""
    assert line.text is not None  # callers pass only lines read without a reason
    problem = None
    if is_blank(line.text):
        problem = "empty_text", "blank line"
    elif len(line.text) > _CHECKED_CHARS and (values := json_values(line.text)) > MAX_JSON_VALUES:
        problem = (
            "json_too_large",
            f"about {values:,} JSON values in one line (over {MAX_JSON_VALUES:,}): not parsed, it would take ~{values * 40 // 1_000_000:,} MB",
        )
    else:
        try:
            record = json.loads(line.text)
        except RecursionError:
            problem = "too_deep", f"JSON nested deeper than the parser can follow (Python's recursion limit, {sys.getrecursionlimit()})"
        except ValueError as exc:
            problem = "invalid_json", f"malformed JSON: {exc}"
        else:
            if not isinstance(record, dict):
                problem = "invalid_json", f"a JSON {type(record).__name__}, not an object"
            elif _SURROGATE_ESCAPE.search(line.text) and _has_lone_surrogate(record):
                problem = "invalid_json", "a \\u escape gives a lone surrogate, which is not text"
            else:
                return record
    batches.reject(line.number, *problem, line.raw)
    return None


def json_values(text: str) -> int:
    """An upper bound on the values (strings, numbers, literals, arrays, objects) ``text`` would
    parse into, counted without parsing: strings, plus the commas and openers outside them."""
    rest, strings = _JSON_STRING.subn("", text)
    return strings + rest.count(",") + rest.count("[") + rest.count("{") + 1


def _has_lone_surrogate(record: dict) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class JsonlReader(SegmentRecords, _JsonlFormat):
    """Segments from JSON Lines. Field names may be dotted (``translation.en``); ``lang_field``
    overrides the declared ``lang`` per record; top-level fields not used go to ``meta``."""

    def __init__(
        self,
        *,
        text_field: str = "text",
        id_field: str | None = None,
        lang_field: str | None = None,
        doc_id_field: str | None = None,
        lang: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.lang = declared_language(lang)
        self._columns = {"text": text_field, "id": id_field, "lang": lang_field, "doc_id": doc_id_field}


class ParallelJsonlReader(PairRecords, _JsonlFormat):
    """Sentence pairs from JSON Lines (``src_field``/``tgt_field``, dotted names allowed)."""

    def __init__(
        self,
        *,
        src_field: str,
        tgt_field: str,
        id_field: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        batch_bytes: int = MIB,
        max_line_bytes: int = MIB,
    ):
        super().__init__(batch_bytes=batch_bytes, max_line_bytes=max_line_bytes)
        self.src_lang = declared_language(src_lang)
        self.tgt_lang = declared_language(tgt_lang)
        self._columns = {"src": src_field, "tgt": tgt_field, "id": id_field}
