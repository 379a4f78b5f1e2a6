"""Text normalisation: mojibake repair, Unicode normal form, Moses punctuation rules and
whitespace cleaning, run over whole Arrow columns.

Steps, in this order (each one optional): ftfy mojibake repair → NFC/NFKC → whitespace
cleaning, part 1 (line breaks to ``\n``, control and invisible format characters removed) →
sacremoses ``MosesPunctNormalizer`` for the row's language → whitespace cleaning, part 2 (every
Unicode space to one plain space, runs collapsed, ends stripped). Spaces are collapsed after
Moses because several of its rules read no-break spaces (French quotes, ``10 000``).

Speed: everything but ftfy and the Unicode normal form (per row, non-ASCII rows only) runs as
Arrow compute over the whole column. The Moses rules are sacremoses's own
``(pattern, replacement)`` lists, translated to RE2 and run with ``pyarrow.compute`` over the
column; a rule whose Python-``re`` meaning RE2 cannot reproduce exactly (lookaround, ``\\b``,
``$``, backreferences, ...) runs per row with ``re.sub`` instead, so output always equals
``MosesPunctNormalizer(lang).normalize(text)``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Literal

import ftfy
import pyarrow as pa
import pyarrow.compute as pc
from sacremoses import MosesPunctNormalizer

from corpusforge.languages import alpha2, language_of
from corpusforge.records import SIDES, Split, kind_of, reject_where, with_columns
from corpusforge.transforms.base import Stage

DEFAULT_LANG = "en"
EMPTY = "empty_after_normalize"
TOO_LONG = "too_long"

# Only the mojibake fixers: no HTML unescaping, ligature/width/quote folding, line-break or
# control-character changes and no Unicode normalisation (those are this stage's own options).
MOJIBAKE_ONLY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_encoding=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)

# Whitespace cleaning, as RE2 (pattern, replacement) passes in order.
_LINE_BREAKS = r"\r\n?|[\x0b\x0c\x{85}\x{2028}\x{2029}]"
# C0/C1 controls except \t and \n (line breaks were turned into \n just before), and format
# characters invisible in running text. Kept on purpose: ZWNJ U+200C and ZWJ U+200D (Indic and
# Perso-Arabic spelling, emoji sequences), Arabic number signs U+0600-0605, U+06DD, the
# Mongolian vowel separator U+180E, emoji tag characters U+E0020-E007F.
_INVISIBLE = (
    r"[\x00-\x08\x0e-\x1f\x7f-\x{84}\x{86}-\x{9f}"
    r"\x{ad}\x{61c}\x{200b}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2060}-\x{2064}\x{2066}-\x{206f}"
    r"\x{feff}\x{fff9}-\x{fffb}]"
)
# Runs of spaces, tabs and every other Unicode space separator (Zs) become one space.
_SPACE_RUN = r"[ \t\x{a0}\x{1680}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]+"
# Line breaks and invisible characters go before the Moses rules (which delete a lone \r and
# would glue two lines); spaces are collapsed after them (Moses reads no-break spaces).
_BEFORE_MOSES = ((_LINE_BREAKS, "\n"), (_INVISIBLE, ""))
_AFTER_MOSES = ((_SPACE_RUN, " "), (r" ?\n ?", "\n"))


@functools.cache
def _python_class(escape: str) -> str:
    """Body of an RE2 character class matching what Python ``re`` matches with ``\\d``, ``\\s`` or
    ``\\w`` on str (RE2's own are ASCII-only)."""
    test = {"d": str.isdecimal, "s": str.isspace, "w": lambda c: c.isalnum() or c == "_"}[escape]
    ranges, start, prev = [], None, None
    for cp in range(0x110000):
        if test(chr(cp)):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            ranges.append(rf"\x{{{start:x}}}" if start == prev else rf"\x{{{start:x}}}-\x{{{prev:x}}}")
            start = None
    return "".join(ranges)


@functools.cache
def _python_whitespace() -> str:
    """The characters ``str.strip()`` removes."""
    return "".join(chr(cp) for cp in range(0x110000) if chr(cp).isspace())


_META = set(".^$*+?{}[]\\|()")
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")


def _re2_pattern(pattern: str) -> str | None:
    """Translate a Python ``re`` pattern to RE2 with the same matches, or None when it uses a
    construct whose meaning differs (lookaround, backreferences, ``\\b``, ``$``, flags, ...)."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 >= len(pattern):
                return None
            e = pattern[i + 1]
            i += 2
            if e in "dsw":
                out.append(_python_class(e) if in_class else f"[{_python_class(e)}]")
            elif e in "DSW" and not in_class:
                out.append(f"[^{_python_class(e.lower())}]")
            elif e in "ntrfv" or not e.isalnum():
                out.append("\\" + e)
            else:  # backreferences, \b, \A, \Z, \x/\u escapes, \D inside a class: not translated
                return None
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "[":  # RE2 reads [[:alpha:]] as a POSIX class; Python as a literal [
                c = r"\["
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            negated = pattern.startswith("[^", i)
            out.append("[^" if negated else "[")
            i += 2 if negated else 1
            if pattern.startswith("]", i):  # a leading ] is a literal in both dialects
                out.append(r"\]")
                i += 1
            continue
        if c == "(" and pattern.startswith("(?", i) and not pattern.startswith(("(?:", "(?P<"), i):
            return None
        if c == "$":
            return None  # Python's $ also matches before a final newline
        if c == "{":
            m = _QUANTIFIER.match(pattern, i)
            if not m:
                return None
            out.append(m.group())
            i = m.end()
            continue
        out.append(c)
        i += 1
    return None if in_class else "".join(out)


_TEMPLATE = re.compile(r"\\g<(\d)>|\\([1-9])(?!\d)|(\\\\)|(\\)|([^\\]+)")


def _re2_replacement(template: str) -> str | None:
    """Translate a Python ``re.sub`` template to an RE2 rewrite: single-digit group references
    (``\\g<1>``, ``\\1``), escaped backslashes and literal text; None for anything else."""
    out = []
    for group, short_group, backslash, other_escape, literal in _TEMPLATE.findall(template):
        if other_escape:
            return None
        out.append(f"\\{group or short_group}" if group or short_group else backslash or literal)
    return "".join(out)


@dataclass(frozen=True)
class _Rule:
    """One sacremoses substitution and the fastest way to run it that gives ``re.sub``'s result."""

    pattern: str
    replacement: str
    how: Literal["literal", "re2", "python"]
    re2_pattern: str | None = None
    re2_replacement: str | None = None

    @classmethod
    def of(cls, pattern: str, replacement: str) -> _Rule:
        if not _META.intersection(pattern) and "\\" not in replacement:
            return cls(pattern, replacement, "literal")
        re2_pattern, re2_replacement = _re2_pattern(pattern), _re2_replacement(replacement)
        if len(pattern) == 2 and pattern[1] == "+" and pattern[0] == replacement and pattern[0] not in _META:
            re2_pattern = pattern[0] + pattern  # " +" -> " ": same output, but single spaces are not rewritten
        if re2_pattern is not None and re2_replacement is not None:
            try:
                pc.replace_substring_regex(pa.array([""]), re2_pattern, re2_replacement)  # compiles it
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # RE2 refuses it (e.g. possessive quantifiers): run it in Python
            else:
                return cls(pattern, replacement, "re2", re2_pattern, re2_replacement)
        return cls(pattern, replacement, "python")

    def apply(self, texts: pa.Array) -> pa.Array:
        if self.how == "literal":
            return pc.replace_substring(texts, self.pattern, self.replacement)
        if self.how == "re2":
            return pc.replace_substring_regex(texts, self.re2_pattern, self.re2_replacement)
        compiled = re.compile(self.pattern)
        return pa.array([None if t is None else compiled.sub(self.replacement, t) for t in texts.to_pylist()], texts.type)


class _MosesPlan:
    """A sacremoses normaliser's rules, ready to run over a column (built once per rule list)."""

    def __init__(self, normalizer: MosesPunctNormalizer):
        # Built with sacremoses's defaults: its optional pre/post steps are off and not part of the plan.
        self.rules = [_Rule.of(p, r) for p, r in normalizer.substitutions]

    def apply(self, texts: pa.Array) -> pa.Array:
        for rule in self.rules:
            texts = rule.apply(texts)
        return pc.utf8_trim(texts, characters=_python_whitespace())  # sacremoses ends with .strip()


class Normalizer(Stage):
    """Normalises ``text`` (segments) or ``src_text`` and ``tgt_text`` (bitext) in place.

    Rejects ``empty_after_normalize`` (for bitext: either side empty) and, with ``max_chars``,
    ``too_long`` (over ``max_chars`` code points after normalisation). Adds no columns.
    Moses rules follow each row's language (``lang``, ``src_lang``/``tgt_lang`` via
    :func:`corpusforge.languages.alpha2`; ``en`` when missing or unreadable); one sacremoses
    normaliser is built per language and cached. Cost: ~45 Arrow passes over the column for
    Moses, 4 for whitespace; ftfy and NFC/NFKC run per row on non-ASCII rows only.
    """

    name = "normalize"
    version = "1"

    def __init__(
        self,
        *,
        unicode_form: Literal["NFC", "NFKC"] | None = "NFC",
        fix_mojibake: bool = False,
        moses_punct: bool = True,
        clean_whitespace: bool = True,
        max_chars: int | None = None,
    ):
        if unicode_form not in ("NFC", "NFKC", None):
            raise ValueError(f"unicode_form must be 'NFC', 'NFKC' or None, not {unicode_form!r}")
        if max_chars is not None and max_chars < 1:
            raise ValueError(f"max_chars must be at least 1 (or None for no limit), not {max_chars}")
        self.unicode_form = unicode_form
        self.fix_mojibake = fix_mojibake
        self.moses_punct = moses_punct
        self.clean_whitespace = clean_whitespace
        self.max_chars = max_chars
        self._plans: dict[str | None, _MosesPlan] = {}  # lang column value -> plan
        self._plans_by_rules: dict[tuple, _MosesPlan] = {}  # languages with equal rules share a plan

    def setup(self) -> None:
        if self.moses_punct:
            self._plan(None)

    def describe(self) -> dict:
        out = {
            "name": self.name,
            "version": self.version,
            "unicode_form": self.unicode_form,
            "fix_mojibake": self.fix_mojibake,
            "moses_punct": self.moses_punct,
            "clean_whitespace": self.clean_whitespace,
            "max_chars": self.max_chars,
        }
        if self.fix_mojibake:
            out["ftfy"] = package_version("ftfy")
        if self.moses_punct:
            out["sacremoses"] = package_version("sacremoses")
        return out

    def normalize_text(self, text: str, lang: str | None = None) -> str:
        """Normalise one text (``lang`` as in the ``lang`` column); never rejects, may return ``""``."""
        return self.normalize_column(pa.array([text], pa.string()), pa.array([lang], pa.string()))[0].as_py()

    def normalize_column(self, texts: pa.Array, langs: pa.Array | None = None) -> pa.Array:
        """Normalise a string array; ``langs`` (same length, nullable) selects the Moses rules."""
        if self.fix_mojibake or self.unicode_form:
            texts = self._fix_non_ascii(texts)
        if self.clean_whitespace:
            texts = _replace_all(texts, _BEFORE_MOSES)
        if self.moses_punct:
            texts = self._moses(texts, langs)
        if self.clean_whitespace:
            texts = pc.utf8_trim(_replace_all(texts, _AFTER_MOSES), characters=" \n")
        return texts

    def _fix_non_ascii(self, texts: pa.Array) -> pa.Array:
        """ftfy and the Unicode normal form, per row on non-ASCII rows only (ASCII text is already
        NFC/NFKC and has no mojibake). Not ``pc.utf8_normalize``: in pyarrow 25 its NFC and NFKC
        never compose (apache/arrow#51225), so it returns decomposed text."""
        non_ascii = pc.invert(pc.fill_null(pc.string_is_ascii(texts), True))
        if not pc.any(non_ascii).as_py():
            return texts
        fixed = texts.filter(non_ascii).to_pylist()
        if self.fix_mojibake:
            fixed = [ftfy.fix_text(t, MOJIBAKE_ONLY) for t in fixed]
        if self.unicode_form:
            fixed = [unicodedata.normalize(self.unicode_form, t) for t in fixed]
        return pc.replace_with_mask(texts, non_ascii, pa.array(fixed, texts.type))

    def process(self, batch: pa.RecordBatch) -> Split:
        kind, sides = _sides(batch)
        if batch.num_rows == 0:
            return Split.keep_all(batch)
        texts = pa.concat_arrays([batch.column(t) for t, _ in sides])
        langs = pa.concat_arrays(
            [batch.column(lang) if lang in batch.schema.names else pa.nulls(batch.num_rows, pa.string()) for _, lang in sides]
        )
        normalized = self.normalize_column(texts, langs)
        out = batch
        lengths, n = [], batch.num_rows
        for k, (column, _) in enumerate(sides):
            side = normalized.slice(k * n, n)
            out = with_columns(out, [out.schema.field(column)], [side])
            lengths.append(pc.fill_null(pc.utf8_length(side), 0))
        refused = functools.reduce(pc.or_, [pc.equal(length, 0) for length in lengths])
        if self.max_chars:
            refused = functools.reduce(pc.or_, [pc.greater(length, self.max_chars) for length in lengths], refused)
        if not pc.any(refused).as_py():
            return Split.keep_all(out)
        reasons, details = self._reasons(sides, [length.to_pylist() for length in lengths], refused.to_pylist())
        rejected = reject_where(
            batch, refused, stage=self.name, kind=kind, reason=reasons, detail=details, text_column=sides[0][0]
        ).rejected
        return Split(out.filter(pc.invert(refused)), rejected)

    def _reasons(self, sides, lengths, refused) -> tuple[list[str | None], list[str | None]]:
        reasons: list[str | None] = [None] * len(refused)
        details: list[str | None] = [None] * len(refused)
        for i in (i for i, r in enumerate(refused) if r):
            emptied = [column for (column, _), length in zip(sides, lengths) if length[i] == 0]
            if emptied:
                reasons[i], details[i] = EMPTY, f"{' and '.join(emptied)} empty after normalisation"
            else:
                longest = max(range(len(sides)), key=lambda k: lengths[k][i])
                reasons[i] = TOO_LONG
                details[i] = f"{sides[longest][0]} has {lengths[longest][i]} characters, over max_chars={self.max_chars}"
        return reasons, details

    def _moses(self, texts: pa.Array, langs: pa.Array | None) -> pa.Array:
        """Run each row through the Moses plan of its language, one column pass per plan and rule."""
        if langs is None or langs.null_count == len(langs):
            return self._plan(None).apply(texts)
        encoded = pc.dictionary_encode(langs)
        plans = [self._plan(code) for code in encoded.dictionary.to_pylist()]
        default = self._plan(None)
        distinct = list({id(p): p for p in [default, *plans]}.values())
        if len(distinct) == 1:
            return distinct[0].apply(texts)
        slot = {id(p): k for k, p in enumerate(distinct)}
        row_plan = pc.fill_null(pc.take(pa.array([slot[id(p)] for p in plans], pa.int32()), encoded.indices), slot[id(default)])
        parts, positions = [], []
        for k, plan in enumerate(distinct):
            where = pc.indices_nonzero(pc.equal(row_plan, k))
            if len(where):
                parts.append(plan.apply(texts.take(where)))
                positions.append(where)
        # Scatter back: the concatenated parts are in `positions` order; sorting it inverts that.
        return pa.concat_arrays(parts).take(pc.sort_indices(pa.concat_arrays(positions)))

    def _plan(self, code: str | None) -> _MosesPlan:
        """The Moses plan for a ``lang`` value: one sacremoses normaliser per value, built once;
        languages whose rule lists are equal (most of them) share one plan."""
        plan = self._plans.get(code)
        if plan is None:
            moses = MosesPunctNormalizer(lang=_moses_lang(code))
            rules = tuple(moses.substitutions)
            if rules not in self._plans_by_rules:
                self._plans_by_rules[rules] = _MosesPlan(moses)
            plan = self._plans[code] = self._plans_by_rules[rules]
        return plan


def _replace_all(texts: pa.Array, passes: tuple[tuple[str, str], ...]) -> pa.Array:
    for pattern, replacement in passes:
        texts = pc.replace_substring_regex(texts, pattern, replacement)
    return texts


def _moses_lang(code: str | None) -> str:
    """sacremoses language for a ``lang`` value: ISO 639-1 where one exists, else ISO 639-3
    (sacremoses treats both as 'not en/de/es/fr/cs'), ``en`` when missing or unreadable."""
    if not code:
        return DEFAULT_LANG
    try:
        return alpha2(code) or language_of(code)
    except ValueError:
        return DEFAULT_LANG


def _sides(batch: pa.RecordBatch) -> tuple[str, list[tuple[str, str]]]:
    """Record kind of ``batch`` and its (text column, language column) pairs."""
    kind = kind_of(batch)
    sides = [(column, f"{prefix}lang") for column, prefix in SIDES[kind]]
    if any(column not in batch.schema.names for column, _ in sides):
        raise ValueError(f"normalize needs a segment (text) or bitext (src_text, tgt_text) batch; columns: {batch.schema.names}")
    return kind, sides
