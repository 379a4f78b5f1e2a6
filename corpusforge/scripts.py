"""Script detection from Unicode script properties: each text's dominant script (ISO 15924), the
share of every script among its letters, and a mixed-script flag, computed for a whole column
at once (:func:`script_profile`); and one word's dominant script (:func:`word_script`). Shared by
the ``script``, ``lid`` and ``token_tags`` stages.

How: a table maps every code point to its Unicode ``Script`` value (built once per process from
the ``regex`` module's ``\\p{sc=...}`` classes for every ISO 15924 code in the IANA registry
that langcodes ships; ~0.4 s, 9 MB). A batch's text is decoded once into one UTF-32 array, looked up
in the table and counted per (row, script) with one ``numpy.bincount``: no per-row Python.

What counts: characters of script Common (digits, punctuation, spaces, emoji), Inherited
(combining marks shared by scripts) and Unknown are not counted. Dominant script rules:

- Han characters are split by a coarse Simplified/Traditional test: a character encodable in
  GB2312 but not Big5 leans Simplified, in Big5 but not GB2312 leans Traditional (both codecs
  ship with Python). Han-dominant text is ``Hans`` or ``Hant`` by which leaning has more
  characters, ``Hani`` on a tie (on the Django zh dev data: 418 of 433 right, 15 ties, 0 wrong).
- Han + Hiragana/Katakana (any kana letter) is one writing system, ``Jpan``; Hangul + Han is
  ``Hang``. They are not "mixed".
- Text without any counted character (empty, digits, punctuation) has script ``Zyyy``.

``script_props`` keeps the Unicode scripts themselves (``Hani``, ``Hira``, ``Kana``), sorted by
share, largest first. ``mixed_script`` is true when the characters outside the dominant writing
system (after the folds above) are at least ``mixed_threshold`` of the counted characters (the
default 0.05 flags one Latin word such as ``CSRF`` in a 60-letter Bengali sentence).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex
from langcodes.registry_parser import parse_registry

from corpusforge.languages import NO_SCRIPT
from corpusforge.schemas import entries_array, entries_type

UNDETERMINED_SCRIPT = "Zyyy"
PROPS_TYPE = entries_type(pa.string(), pa.float32())  # (script, share) entries: no Arrow map in outputs


def script_fields(prefix: str = "") -> list[pa.Field]:
    return [
        pa.field(
            f"{prefix}script", pa.string(), metadata={"doc": "Dominant script (ISO 15924) of the text's letters; Zyyy when it has none."}
        ),
        pa.field(
            f"{prefix}script_props", PROPS_TYPE, metadata={"doc": "Share of each Unicode script among the text's letters, largest first."}
        ),
        pa.field(
            f"{prefix}mixed_script",
            pa.bool_(),
            metadata={
                "doc": "Whether letters outside the dominant writing system are at least the stage's mixed_threshold of all letters."
            },
        ),
    ]


@dataclass(frozen=True)
class _Table:
    """Code point -> script id; ``codes[id]`` is the ISO 15924 code, except the two ids of Han
    characters leaning Simplified or Traditional (their code is ``Hani``)."""

    lookup: np.ndarray  # intp (indexes without conversion; 9 MB), one entry per code point
    codes: tuple[str, ...]
    hans: int
    hant: int


def _unicode_scripts() -> list[str]:
    """ISO 15924 codes that are Unicode Script values (those ``regex`` accepts in ``\\p{sc=}``)."""
    codes = []
    for entry in parse_registry():
        code = entry.get("Subtag", "")
        if entry.get("Type") != "script" or ".." in code:
            continue
        try:
            regex.compile(rf"\p{{sc={code}}}")
        except regex.error:
            continue  # Hans, Jpan, Latf, ...: ISO codes that are not Unicode Script values
        codes.append(code)
    return codes


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


@functools.cache
def script_table() -> _Table:
    """The code point table, built once per process."""
    codes = ["Zzzz"] + [c for c in _unicode_scripts() if c != "Zzzz"]
    codes += ["Hani", "Hani"]  # Han leaning Simplified, Han leaning Traditional
    hans, hant = len(codes) - 2, len(codes) - 1
    # 0 (Zzzz, not counted) until a script claims the code point: unassigned code points and
    # scripts newer than the IANA registry langcodes ships stay there.
    lookup = np.zeros(0x110000, dtype=np.intp)
    pattern = regex.compile("|".join(rf"(?P<s{i}>\p{{sc={code}}}+)" for i, code in enumerate(codes[:hans]) if i))
    for start, stop in ((0, 0xD800), (0xE000, 0x110000)):  # surrogates cannot be in a str
        chars = "".join(map(chr, range(start, stop)))
        for m in pattern.finditer(chars):
            lookup[start + m.start() : start + m.end()] = int(m.lastgroup[1:])
    han = codes.index("Hani")
    for cp in np.flatnonzero(lookup[:0x10000] == han):  # GB2312 and Big5 are BMP-only
        char = chr(cp)
        simplified, traditional = _encodable(char, "gb2312"), _encodable(char, "big5")
        if simplified != traditional:
            lookup[cp] = hans if simplified else hant
    return _Table(lookup, tuple(codes), hans, hant)


@dataclass(frozen=True)
class ScriptProfile:
    """Per-row script columns of one text column, and ``systems``: per row, the writing systems
    present, most letters first, joined by ``+`` (``Latn+Hans``; Han refined per row), which
    language ID uses to give a label its script."""

    script: pa.StringArray
    props: pa.ListArray
    mixed: pa.BooleanArray
    systems: list[str]

    def arrays(self) -> list[pa.Array]:
        """The three columns, in :func:`script_fields` order."""
        return [self.script, self.props, self.mixed]


def _code_points(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """All code points of the column as one uint32 array, and each row's length in code points."""
    texts = pc.fill_null(texts, "")
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    _, offsets_buffer, data = texts.buffers()
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[texts.offset : texts.offset + len(texts) + 1]
    start, stop = (int(offsets[0]), int(offsets[-1])) if len(texts) else (0, 0)
    decoded = data[start:stop].to_pybytes().decode("utf-8") if data is not None else ""
    return np.frombuffer(decoded.encode("utf-32-le"), dtype=np.uint32), lengths


def _fold_writing_systems(counts: np.ndarray, column: dict[str, int], codes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Per-row counts by writing system: Han + kana become one ``Jpan`` column (rows with any
    kana), Hangul + Han one ``Hang`` column (rows with Hangul and no kana)."""
    n = len(counts)
    systems = np.concatenate([counts, np.zeros((n, 1), counts.dtype)], axis=1)

    def col(code: str) -> np.ndarray:
        return counts[:, column[code]] if code in column else np.zeros(n, counts.dtype)

    han, kana, hangul = col("Hani"), col("Hira") + col("Kana"), col("Hang")
    japanese = kana > 0
    korean = (hangul > 0) & ~japanese
    systems[japanese, -1] = han[japanese] + kana[japanese]
    if "Hang" in column:
        systems[korean, column["Hang"]] += han[korean]
    for code, mask in (("Hani", japanese | korean), ("Hira", japanese), ("Kana", japanese)):
        if code in column:
            systems[mask, column[code]] = 0
    return systems, codes + ["Jpan"]


def script_profile(texts: pa.Array, *, mixed_threshold: float = 0.05) -> ScriptProfile:
    """Dominant script, script shares and mixed flag for every row of a string column (nulls
    read as empty text). Cost: linear in characters, vectorised (~1 µs per short row)."""
    table = script_table()
    n = len(texts)
    cps, lengths = _code_points(texts)
    ids = table.lookup[cps]
    rows = np.repeat(np.arange(n), lengths)
    # One column per script present in the batch (Han leanings merged into Hani), plus a last
    # column for characters of no script, dropped after counting.
    present_ids = np.flatnonzero(np.bincount(ids, minlength=len(table.codes)))
    codes = sorted({table.codes[i] for i in present_ids} - NO_SCRIPT)
    column = {code: j for j, code in enumerate(codes)}
    width = len(codes) + 1
    remap = np.full(len(table.codes), len(codes), dtype=np.int64)
    for i in present_ids:
        remap[i] = column.get(table.codes[i], len(codes))
    flat = np.bincount(rows * width + remap[ids], minlength=n * width)
    counts = flat.reshape(n, width)[:, :-1]
    total = counts.sum(axis=1)

    systems, system_codes = counts, codes
    if {"Hira", "Kana", "Hang"} & column.keys():
        systems, system_codes = _fold_writing_systems(counts, column, codes)
    best_col = systems.argmax(axis=1) if system_codes else np.zeros(n, dtype=np.int64)
    best = systems[np.arange(n), best_col] if system_codes else np.zeros(n, dtype=np.int64)
    names = system_codes + [UNDETERMINED_SCRIPT, "Hans", "Hant"]
    dominant = np.where(best > 0, best_col, len(system_codes))
    han_names = None
    if "Hani" in column:  # Han: Simplified or Traditional by the leaning counts of the row
        simplified = np.bincount(rows[ids == table.hans], minlength=n)
        traditional = np.bincount(rows[ids == table.hant], minlength=n)
        han_names = np.where(simplified > traditional, "Hans", np.where(traditional > simplified, "Hant", "Hani"))
        han = (dominant == column["Hani"]) & (best > 0)
        dominant[han & (simplified > traditional)] = len(system_codes) + 1
        dominant[han & (traditional > simplified)] = len(system_codes) + 2
    mixed = (total > 0) & (total - best >= mixed_threshold * total)
    script = pc.take(pa.array(names, pa.string()), pa.array(dominant))

    # Rows with more than one writing system: list them all, most letters first.
    systems_present = [names[i] for i in dominant.tolist()]  # shared str objects, no copies
    multi = np.flatnonzero((systems > 0).sum(axis=1) > 1)
    if len(multi):
        sub = systems[multi]
        order = np.argsort(-sub, axis=1, kind="stable")
        ranked = np.asarray(system_codes, dtype=object)[order]
        if han_names is not None:
            ranked = np.where(ranked == "Hani", han_names[multi][:, None], ranked)
        for row_index, row, k in zip(multi.tolist(), ranked.tolist(), (sub > 0).sum(axis=1).tolist()):
            systems_present[row_index] = "+".join(row[:k])

    # script_props: non-zero shares per row, largest first, as (key, value) entries.
    nonzero = np.flatnonzero(flat)
    r, c = np.divmod(nonzero, width)
    scripted = c < len(codes)  # the last column holds characters of no script
    r, c, values = r[scripted], c[scripted], flat[nonzero[scripted]]
    shares = (values / total[r]).astype(np.float32)
    order = np.lexsort((-shares, r))
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(r, minlength=n), out=offsets[1:])
    keys = pc.take(pa.array(codes, pa.string()), pa.array(c[order]))
    props = entries_array(pa.array(offsets), keys, pa.array(shares[order], pa.float32()))
    return ScriptProfile(script, props, pa.array(mixed, pa.bool_()), systems_present)


def word_script(word: str) -> str | None:
    """Dominant Unicode script of a word's letters (Han as ``Hani``), None when it has none."""
    table = script_table()
    counts: dict[str, int] = {}
    for char in word:
        code = table.codes[table.lookup[ord(char)]]
        if code not in NO_SCRIPT:
            counts[code] = counts.get(code, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
