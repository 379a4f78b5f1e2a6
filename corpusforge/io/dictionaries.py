"""Bilingual dictionaries from files, for dictionary-level code-switching
(:class:`~corpusforge.codeswitch.dictionary.DictionarySwitcher`): MUSE-style files (one ``source
target`` pair a line, whitespace-separated; a source word on several lines has several
translations) and dictd files as FreeDict ships them (``name.index`` + ``name.dict.dz``, e.g.
Debian's ``dict-freedict-eng-hin``). A dictionary is configuration: a malformed line raises
ValueError naming ``path:line`` before the run.
"""

from __future__ import annotations

import gzip
import os
import re

import regex

from corpusforge.codeswitch.dictionary import FUNCTION_POS, BilingualDictionary
from corpusforge.codeswitch.switcher import language_option
from corpusforge.io.base import read_lines
from corpusforge.io.compression import open_input
from corpusforge.languages import script_of

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_HEAD = re.compile(r"^(?P<head>.+?)(?:\s+/[^/]*/)?(?:\s+\(.*\))?(?:\s+<(?P<pos>[^<>]*)>)?\s*$")
_SENSE = re.compile(r"^\d+\.\s+")
_ANNOTATION = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\([^()]*\)")
_SKIP_LINE = re.compile(r"^(?:see:|note:|synonyms?:|antonyms?:|\")", re.I)
_LETTER = regex.compile(r"\p{L}")


def read_muse(path: str, *, src_lang: str, tgt_lang: str) -> BilingualDictionary:
    """A MUSE file: ``source target`` per line (space or tab); compressed files too. A line
    with other than two fields raises ValueError naming ``path:line``."""
    out = BilingualDictionary(language_option(src_lang, "src_lang"), language_option(tgt_lang, "tgt_lang"), name=os.path.basename(path))
    with open_input(path) as stream:
        for line in read_lines(stream, 1 << 20):
            if line.reason:
                raise ValueError(f"{path}:{line.number}: {line.detail}")
            assert line.text is not None  # read_lines gives text whenever it gives no reason
            parts = line.text.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise ValueError(f"{path}:{line.number}: expected 'source target', got {line.text!r}")
            out.add(*parts)
    return out


def read_dictd(path: str, *, src_lang: str, tgt_lang: str) -> BilingualDictionary:
    """A dictd dictionary: ``path`` is the ``.index`` file or the name without extension;
    the body is ``.dict.dz`` (gzip/dictzip) or ``.dict`` beside it.

    Each index line is ``headword<TAB>offset<TAB>length`` (base64 numbers) pointing into the
    body. An entry's first line is ``headword /pronunciation/ <POS>``; translations are the
    unindented lines after it (``1. अनुवाद`` or ``Wort <gram>, Wort``: numbering, ``<...>``,
    ``[...]`` and ``(...)`` removed, split at ``,`` and ``;``, ``~`` read as a space);
    indented lines (examples, notes) and ``see:`` lines are skipped. When the target's script
    is not Latin, candidates without a letter of that script are dropped (FreeDict eng-hin
    has English example sentences numbered like senses). Entries the index names under
    several keys are read once; dictd's ``00database*`` entries are skipped.
    """
    base = path[: -len(".index")] if path.endswith(".index") else path
    index = base + ".index"
    body_path = next((p for p in (base + ".dict.dz", base + ".dict") if os.path.exists(p)), None)
    if not os.path.exists(index) or body_path is None:
        raise FileNotFoundError(f"dictd dictionary {base}: need {index} and {base}.dict.dz (or .dict)")
    out = BilingualDictionary(language_option(src_lang, "src_lang"), language_option(tgt_lang, "tgt_lang"), name=os.path.basename(base))
    script = script_of(out.tgt_lang)
    in_script = None if script == "Latn" else regex.compile(rf"\p{{sc={script}}}")
    opener = gzip.open if body_path.endswith(".dz") else open
    with opener(body_path, "rb") as f:
        body = f.read()
    seen: set[tuple[int, int]] = set()
    with open(index, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise ValueError(f"{index}:{number}: expected 'headword<TAB>offset<TAB>length'")
            key, offset, length = parts[0], _b64(parts[1], index, number), _b64(parts[2], index, number)
            if not key or key.startswith("00database") or (offset, length) in seen:
                continue
            seen.add((offset, length))
            _add_entry(out, body[offset : offset + length].decode("utf-8", "replace"), in_script)
    return out


def _add_entry(out: BilingualDictionary, entry: str, in_script) -> None:
    """Add one dictd entry's translations (and its headword as a function word by POS) to ``out``."""
    lines = entry.split("\n")
    head = _HEAD.match(lines[0].strip())
    if head is None:
        return
    headword = head.group("head").strip()
    if head.group("pos") and head.group("pos").strip() in FUNCTION_POS:
        out.function_words.add(headword.lower())
    for line in lines[1:]:
        if not line.strip() or line[:2].isspace() or _SKIP_LINE.match(line.strip()):
            continue
        text = _ANNOTATION.sub(" ", _SENSE.sub("", line.strip())).replace("~", " ")
        for candidate in re.split(r"[,;]", text):
            candidate = candidate.strip()
            if candidate and _LETTER.search(candidate) and (in_script is None or in_script.search(candidate)):
                out.add(headword, candidate)


def _b64(value: str, path: str, number: int) -> int:
    total = 0
    for char in value:
        if char not in _B64:
            raise ValueError(f"{path}:{number}: {value!r} is not a dictd base64 number")
        total = total * 64 + _B64[char]
    return total
