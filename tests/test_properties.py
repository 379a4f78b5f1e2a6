"""Property tests (hypothesis): readers on arbitrary bytes, the normaliser, token tagging and
code-mixing metrics, transliteration round trips and code-switch spans.

The ``ci`` profile (the default here) bounds the examples so the module stays well under a
minute on two cores, derandomised so CI is repeatable; ``HYPOTHESIS_PROFILE=thorough`` runs
many more examples."""

from __future__ import annotations

import codecs
import os
import tempfile
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusforge.codeswitch.lexicon import cldr_lexicon
from corpusforge.codeswitch.switcher import EntitySwitcher
from corpusforge.io.readers import JsonlReader, MosesReader, ParquetReader, TextReader, TmxReader, TsvReader
from corpusforge.schemas import load_schema
from corpusforge.transforms.codemix import INDEPENDENT, code_mixing_metrics
from corpusforge.transforms.normalize import Normalizer
from corpusforge.transforms.tokens import OTHER, span_pieces, tag_pieces, tokenize
from corpusforge.transforms.translit import Transliterator

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
FILE_LEVEL = {"binary_file", "corrupt_file", "empty_file", "malformed_xml", "xml_entity_bomb", "bad_header", "missing_column"}

# Bytes that look like what readers meet: text lines (any Unicode), JSON-ish and XML-ish
# fragments, control bytes, invalid UTF-8, and raw noise.
_pieces = st.one_of(
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\n", b"\r\n", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\t", b'{"text": "', b'"}', b"[", b"]", b"<tu>", b"</seg>"]),
    st.binary(max_size=40),
)
file_bytes = st.lists(_pieces, max_size=30).map(b"".join)


def lines_in(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def read(reader, path: Path) -> tuple[pa.Table, pa.Table]:
    splits = list(reader.read(str(path), source="src"))
    kept = pa.Table.from_batches([s.kept for s in splits], schema=load_schema(reader.kind))
    rejected = pa.Table.from_batches([s.rejected for s in splits], schema=load_schema("rejected"))
    return kept, rejected


LINE_READERS = {
    "text": (lambda: TextReader(lang="en"), "data.txt"),
    "jsonl": (lambda: JsonlReader(lang="en"), "data.jsonl"),
    "tsv": (lambda: TsvReader(text_column=0, header=False, lang="en"), "data.tsv"),
}


@pytest.mark.parametrize("name", list(LINE_READERS))
@given(data=file_bytes)
def test_a_line_reader_gives_every_line_a_row_whatever_the_bytes(name, data):
    factory, filename = LINE_READERS[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_bytes(data)
        kept, rejected = read(factory(), path)  # no exception escapes
    reasons = set(rejected.column("reason").to_pylist())
    assert all(reasons) and all(rejected.column("stage").to_pylist()) if rejected.num_rows else True
    if reasons & FILE_LEVEL or data.startswith(WIDE_BOMS):
        return  # the file ended early with one row saying why, or was decoded from UTF-16/32
    assert kept.num_rows + rejected.num_rows == lines_in(data)  # read = kept + rejected, one row per line


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_compressed_file_end_as_rows_not_exceptions(suffix, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data.txt{suffix}"
        path.write_bytes(data)
        kept, rejected = read(TextReader(lang="en"), path)
    assert set(rejected.column("reason").to_pylist()) <= {
        "corrupt_file",
        "empty_file",
        "invalid_utf8",
        "nul_byte",
        "empty_text",
        "binary_file",
    }
    if not data:
        assert rejected.column("reason").to_pylist() == ["empty_file"]


@given(data=file_bytes, tmx_like=st.booleans())
def test_the_tmx_reader_never_raises_and_rejects_with_reasons(data, tmx_like):
    if tmx_like:
        data = b'<?xml version="1.0"?><tmx version="1.4"><body><tu><tuv xml:lang="en"><seg>' + data + b"</seg></tuv></tu></body></tmx>"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.tmx"
        path.write_bytes(data)
        kept, rejected = read(TmxReader(src_lang="en", tgt_lang="hi"), path)
    assert all(rejected.column("reason").to_pylist())
    assert kept.num_rows == 0 or set(kept.column("src_lang").to_pylist()) == {"eng_Latn"}


@given(src=file_bytes, tgt=file_bytes)
def test_the_moses_reader_pairs_or_rejects_every_line_of_both_sides(src, tgt):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "c.en").write_bytes(src)
        (Path(folder) / "c.hi").write_bytes(tgt)
        kept, rejected = read(MosesReader(src_lang="en", tgt_lang="hi"), Path(folder) / "c.en")
    reasons = set(rejected.column("reason").to_pylist())
    if reasons & FILE_LEVEL or src.startswith(WIDE_BOMS) or tgt.startswith(WIDE_BOMS):
        return
    assert kept.num_rows + rejected.num_rows == max(lines_in(src), lines_in(tgt))


@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_parquet_are_one_rejected_row(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        path.write_bytes(b"PAR1" + data + b"PAR1")
        kept, rejected = read(ParquetReader(lang="en"), path)
    assert kept.num_rows == 0 and rejected.num_rows == 1 and rejected.column("reason")[0].as_py() in FILE_LEVEL


# ---------------------------------------------------------------------------------------------
# The normaliser

NORMALIZERS = {"default": Normalizer(), "nfkc_mojibake": Normalizer(unicode_form="NFKC", fix_mojibake=True)}
texts = st.text(st.characters(codec="utf-8"), max_size=60)


@pytest.mark.parametrize("name", list(NORMALIZERS))
@given(text=texts)
def test_normalising_twice_changes_nothing(name, text):
    normalizer = NORMALIZERS[name]
    once = normalizer.normalize_text(text)
    assert normalizer.normalize_text(once) == once


@given(rows=st.lists(texts, min_size=1, max_size=8))
def test_the_normalize_stage_never_empties_a_text_silently(rows):
    batch = pa.RecordBatch.from_pylist(
        [{"id": str(i), "source": "s", "text": text, "lang": "eng_Latn"} for i, text in enumerate(rows)], schema=load_schema("segment")
    )
    split = NORMALIZERS["default"].process(batch)
    assert split.kept.num_rows + split.rejected.num_rows == len(rows)
    assert all(t.strip() for t in split.kept.column("text").to_pylist())  # a kept text is never blank
    assert set(split.rejected.column("reason").to_pylist()) <= {"empty_after_normalize"}


# ---------------------------------------------------------------------------------------------
# Token tagging and code-mixing metrics

LANGS = ["hin_Deva", "eng_Latn", "urd_Arab", *INDEPENDENT]


@given(tags=st.lists(st.sampled_from(LANGS), max_size=40))
def test_code_mixing_metrics_stay_within_their_bounds(tags):
    m = code_mixing_metrics(tags)
    language_tokens = sum(1 for t in tags if t not in INDEPENDENT)
    assert m["n_tokens"] == len(tags) and m["n_language_tokens"] == language_tokens == sum(m["languages"].values())
    assert 0.0 <= m["cmi"] <= 100.0 * (1 - 1 / max(len(m["languages"]), 1)) + 1e-9
    assert 0.0 <= m["m_index"] <= 1.0 + 1e-9 and 0.0 <= m["i_index"] <= 1.0
    assert 0 <= m["switch_points"] <= max(language_tokens - 1, 0) and 0.0 <= m["switch_fraction"] <= 1.0
    assert m["burstiness"] is None or -1.0 <= m["burstiness"] <= 1.0
    if len(m["languages"]) <= 1:
        assert m["cmi"] == 0 and m["switch_points"] == 0


@given(text=texts, cuts=st.lists(st.integers(0, 60), max_size=6), langs=st.lists(st.sampled_from(LANGS[:3]), min_size=6, max_size=6))
def test_token_tags_cover_the_text_and_take_their_runs_language(text, cuts, langs):
    assert "".join(token for token, _ in tokenize(text)) == "".join(text.split())  # every non-space character, once, in order
    bounds = sorted({min(c, len(text)) for c in cuts})
    spans = [{"start": a, "end": b, "lang": lang} for (a, b), lang in zip(zip(bounds, bounds[1:]), langs) if b > a][::2]
    pieces = span_pieces(text, spans, "eng_Latn")
    assert "".join(piece for piece, _ in pieces) == text
    tagged = tag_pieces(pieces)
    for (token, tag), (expected, is_word) in zip(tagged, [t for piece, _ in pieces for t in tokenize(piece)]):
        assert token == expected and (tag == OTHER) == (not is_word)


# ---------------------------------------------------------------------------------------------
# Transliteration round trips where the scheme is lossless (Devanagari <-> ISO 15919)

CONSONANTS = "कखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह"
SIGNS = ["", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ", "ं", "्"]
syllable = st.tuples(st.sampled_from(CONSONANTS), st.sampled_from(SIGNS)).map("".join)
deva_words = st.lists(syllable, min_size=1, max_size=5).map("".join).filter(lambda w: not w.endswith("्"))


@given(word=deva_words)
def test_devanagari_iso_round_trip_is_exact(word):
    there, back = Transliterator(source="Deva", target="iso"), Transliterator(source="iso", target="Deva")
    assert back.word(there.word(word)) == unicodedata.normalize("NFC", word)


# ---------------------------------------------------------------------------------------------
# Code-switch spans

NAMES = ["India", "China", "Hindi", "Urdu", "Japan", "Nepal", "Tamil", "France"]
words = st.lists(st.one_of(st.sampled_from(NAMES), st.from_regex(r"[a-z]{1,8}", fullmatch=True)), max_size=12)


@pytest.fixture(scope="module")
def switcher() -> EntitySwitcher:
    return EntitySwitcher(lexicon=cldr_lexicon(languages=["eng_Latn", "hin_Deva"]), policy="all")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=words, seed=st.text(max_size=8))
def test_code_switch_spans_index_the_text_and_leave_the_rest_unchanged(switcher, tokens, seed):
    source = " ".join(tokens) + "."
    switched = switcher.switch(source, target="hin_Deva", record_id=seed)
    rebuilt, at = [], 0
    for span in switched.spans:
        assert at <= span.start < span.end <= len(switched.text)  # in order, inside the text, not overlapping
        assert switched.text[span.start : span.end] and span.original in NAMES
        rebuilt.append(switched.text[at : span.start] + span.original)
        at = span.end
    assert "".join(rebuilt) + switched.text[at:] == source  # outside the spans, the source unchanged
