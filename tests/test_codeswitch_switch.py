"""Entity-level switching: CLDR labels into Hindi, Urdu, Bengali, Tamil and Chinese; mentions
(gazetteer, wikitext links, given spans); policies, target modes, missing labels, markers,
determinism; the batch stage's codeswitch.v1 records."""

from __future__ import annotations

import babel
import pyarrow as pa
import pytest
from babel import Locale

from corpusforge.accounting import Tally
from corpusforge.codeswitch.lexicon import Entity, EntityLexicon, cldr_lexicon, cldr_lexicon_id
from corpusforge.codeswitch.mentions import Gazetteer, Mention, MentionError, fold, given_mentions, parse_wikilinks
from corpusforge.codeswitch.metrics import code_mixing_metrics
from corpusforge.codeswitch.switcher import EntitySwitcher, Switched, codeswitch_batch, codeswitch_record
from corpusforge.hashing import StableDraws
from corpusforge.schemas import conform, entries_dict, load_schema
from corpusforge.transforms.codeswitch import EntitySwitchStage

TARGETS = {"hin_Deva": "hi", "urd_Arab": "ur", "ben_Beng": "bn", "tam_Taml": "ta", "zho_Hans": "zh"}
BABEL_ATTR = {"territory": "territories", "language": "languages", "script": "scripts", "currency": "currencies"}

# English sentences and the CLDR entities they mention, in order.
SENTENCES = [
    ("India and China share a long border.", ["territory:IN", "territory:CN"]),
    (
        "Many people in Pakistan speak Urdu, and many in Germany learn English.",
        ["territory:PK", "language:ur", "territory:DE", "language:en"],
    ),
    ("She studied Hindi and Tamil before moving to Japan.", ["language:hi", "language:ta", "territory:JP"]),
    ("Prices in Nepal are quoted in the Indian Rupee; Indiana is not India's neighbour.", ["territory:NP", "currency:INR", "territory:IN"]),
    ("French is spoken in France, Canada and Belgium.", ["language:fr", "territory:FR", "territory:CA", "territory:BE"]),
]


@pytest.fixture(scope="module")
def cldr() -> EntityLexicon:
    return cldr_lexicon(languages=["eng_Latn", *TARGETS])


def unswitch(switched: Switched, markers: bool = False) -> str:
    """The source text rebuilt from the switched text and its spans (markers removed)."""
    text, out, at = switched.text, [], 0
    for span in switched.spans:
        opening = len(span.lang) + 2 if markers else 0
        out.append(text[at : span.start - opening])
        out.append(span.original)
        at = span.end + (len(span.lang) + 3 if markers else 0)
    out.append(text[at:])
    return "".join(out)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("sentence, entities", SENTENCES)
def test_cldr_switches_countries_and_languages_into_babel_labels(cldr, target, sentence, entities):
    switched = EntitySwitcher(lexicon=cldr).switch(sentence, target=target)
    assert [span.entity_id for span in switched.spans] == entities
    locale = Locale.parse(TARGETS[target])
    for span in switched.spans:
        category, key = span.entity_id.split(":", 1)
        expected = getattr(locale, BABEL_ATTR[category])[key]
        assert switched.text[span.start : span.end] == expected  # code points of the switched text
        assert span.lang == target and span.method == "entity"
        assert span.original == getattr(Locale.parse("en"), BABEL_ATTR[category])[key]
    # everything outside the spans is byte-identical to the source
    assert unswitch(switched).encode("utf-8") == sentence.encode("utf-8")
    assert switched.source_text == sentence and switched.matrix_lang == "eng_Latn"
    assert switched.embedded_langs == [target]


def test_metrics_come_from_the_switched_tokens(cldr):
    switched = EntitySwitcher(lexicon=cldr).switch("India and China.", target="hin_Deva")
    assert switched.text == f"{Locale.parse('hi').territories['IN']} and {Locale.parse('hi').territories['CN']}."
    # tokens: hin eng hin other -> CMI 100 * (1 - 2/3), two switch points
    assert switched.cmi == pytest.approx(100 / 3) and switched.switch_points == 2
    nothing = EntitySwitcher(lexicon=cldr).switch("Nothing to see here.", target="hin_Deva")
    assert nothing.spans == () and nothing.text == nothing.source_text and nothing.cmi == 0.0


def test_records_carry_every_code_mixing_metric_of_the_switched_tokens(cldr):
    """M-index, I-index, burstiness and switch fraction are computed (by codemix's own
    function), not left null: tokens hin eng hin other."""
    switched = EntitySwitcher(lexicon=cldr).switch("India and China.", target="hin_Deva")
    expected = code_mixing_metrics(["hin_Deva", "eng_Latn", "hin_Deva", "other"])
    record = codeswitch_record(switched, source="news", source_id="s1", method="entity", variant=0)
    row = codeswitch_batch([record]).to_pylist()[0]
    for name in ("cmi", "m_index", "i_index", "burstiness", "switch_points", "switch_fraction"):
        assert row[name] == pytest.approx(expected[name]), name
    assert (row["m_index"], row["i_index"], row["switch_fraction"]) == (pytest.approx(0.8), 1.0, 0.5)
    assert row["burstiness"] == pytest.approx(-1.0)  # spans 1, 1, 1: periodic


# --- gazetteer -------------------------------------------------------------------------------


def _gazetteer(forms, **options) -> Gazetteer:
    return Gazetteer([(surface, key, rank) for surface, key, rank in forms], **options)


def test_gazetteer_takes_the_longest_leftmost_match_on_word_boundaries():
    g = _gazetteer([("India", "IN", 1), ("Indian Ocean", "IO", 1), ("Ocean", "OC", 1), ("New York", "NY", 1), ("York", "YK", 1)])
    found = g.find("The Indian Ocean, New York, Yorkshire, Indiana, India's coast, InDia.")
    assert [(m.surface, m.key) for m in found] == [("Indian Ocean", "IO"), ("New York", "NY"), ("India", "IN")]
    assert found[0] == Mention(4, 16, "IO", "Indian Ocean")


def test_gazetteer_finds_the_shorter_match_that_pyahocorasick_iter_long_misses():
    g = _gazetteer([("知识产权", "IP", 1), ("国家知识产权局", "CNIPA", 1)])
    assert [(m.start, m.end, m.key) for m in g.find("国家知识产权")] == [(2, 6, "IP")]


def test_scripts_without_spaces_need_no_boundary_and_spaced_ones_do(cldr):
    zh = Gazetteer.from_lexicon(cldr, languages=["zho_Hans"])
    assert [m.key for m in zh.find("我去过印度和中国。")] == ["territory:IN", "territory:CN"]
    hi = Gazetteer.from_lexicon(cldr, languages=["hin_Deva"])
    india = Locale.parse("hi").territories["IN"]
    assert [m.key for m in hi.find(f"{india} और {india}ीय")] == ["territory:IN"]  # a vowel sign continues the word


@pytest.mark.parametrize(
    "case, expected",
    [
        ("sensitive", ["US", "India"]),
        ("insensitive", ["us", "US", "india", "India"]),
        ("smart", ["US", "india", "India"]),
    ],
)
def test_case_policies(case, expected):
    g = _gazetteer([("US", "US", 1), ("India", "IN", 1)], case=case)
    assert [m.surface for m in g.find("Tell us: US or india or India?")] == expected


def test_shared_surface_goes_to_the_higher_rank_then_the_smaller_id(cldr):
    g = _gazetteer([("Paris", "Q830149", 20), ("Paris", "Q90", 290), ("Tamil", "script:Taml", 5), ("Tamil", "language:ta", 5)])
    assert [m.key for m in g.find("Paris and Tamil")] == ["Q90", "language:ta"]
    assert g.lookup("Paris") == "Q90" and g.lookup("London") is None


def test_fold_keeps_code_point_offsets():
    assert fold("İstanbul ÉTÉ") == "İstanbul été"
    assert len(fold("İİ straße")) == len("İİ straße")


def test_min_length_leaves_out_single_characters():
    g = _gazetteer([("A", "a", 1), ("AB", "ab", 1)])
    assert len(g) == 1 and [m.key for m in g.find("A AB")] == ["ab"]
    with pytest.raises(ValueError, match="case must be one of"):
        Gazetteer([], case="upper")


# --- wikitext and given mentions ----------------------------------------------------------------


def test_wikilinks_become_anchor_text_and_mentions():
    titles = {"India": "Q668", "China": "Q148", "Pakistan": "Q843"}
    text, mentions = parse_wikilinks(
        "[[India]]n trade with [[China|the PRC]] and [[Pakistan]] via [[Nowhere]].[[Category:Trade]] [[hi:भारत]]",
        lambda title: titles.get(title.strip()),
    )
    assert text == "Indian trade with the PRC and Pakistan via Nowhere. "
    assert [(m.key, text[m.start : m.end]) for m in mentions] == [("Q668", "Indian"), ("Q148", "the PRC"), ("Q843", "Pakistan")]


def test_given_mentions_are_checked():
    text = "India and China"
    assert given_mentions(
        text, [{"start": 10, "end": 15, "entity_id": "CN"}, {"start": 0, "end": 5, "entity_id": None}], {"India": "IN"}.get
    ) == [
        Mention(0, 5, "IN", "India"),
        Mention(10, 15, "CN", "China"),
    ]
    for spans, message in [
        ([{"start": 10, "end": 99, "entity_id": "CN"}], "not inside the text"),
        ([{"start": 0, "end": 5, "entity_id": "A"}, {"start": 3, "end": 8, "entity_id": "B"}], "overlap"),
        ([{"start": 0, "end": 5, "entity_id": None}], "has no entity id"),
    ]:
        with pytest.raises(MentionError, match=message):
            given_mentions(text, spans)


# --- policies, targets, missing labels, markers --------------------------------------------------

LONG = "India, China, Pakistan, Nepal, Japan, Germany, France, Canada, Brazil and Kenya."


def test_policies_choose_how_many_mentions(cldr):
    def count(**options):
        return len(EntitySwitcher(lexicon=cldr, **options).switch(LONG, target="hin_Deva", record_id="r").spans)

    assert count() == 10
    assert count(policy="fraction", fraction=0.3) == 3
    assert count(policy="fraction", fraction=0.25) == 3  # 2.5 rounds half up
    assert count(policy="at_most", k=2) == 2


def test_choices_are_deterministic_per_seed_and_record(cldr):
    def picked(seed, record_id, variant=0):
        switcher = EntitySwitcher(lexicon=cldr, policy="at_most", k=3, seed=seed)
        return [s.entity_id for s in switcher.switch(LONG, target="hin_Deva", record_id=record_id, variant=variant).spans]

    assert picked(1, "a") == picked(1, "a")
    assert len({tuple(picked(1, r)) for r in "abcdefgh"}) > 1
    assert len({tuple(picked(1, "a", v)) for v in range(8)}) > 1
    # a stable hash, not Python's salted hash or global random state: fixed across machines
    assert StableDraws(0, "record-1").uniform("x") == 0.6794462119914075


def _small_lexicon() -> EntityLexicon:
    return EntityLexicon(
        [
            Entity("IN", {"eng_Latn": "India", "hin_Deva": "भारत", "urd_Arab": "بھارت", "tam_Taml": "இந்தியா"}),
            Entity("CN", {"eng_Latn": "China", "hin_Deva": "चीन", "tam_Taml": "சீனா"}),
            Entity("KL", {"eng_Latn": "Kolkata", "hin_Deva": "कोलकाता"}),
        ]
    )


def test_sentence_mode_draws_a_language_every_selected_entity_has():
    switcher = EntitySwitcher(lexicon=_small_lexicon(), targets=["urd_Arab", "hin_Deva", "tam_Taml"], target_mode="sentence")
    for record_id in map(str, range(20)):
        switched = switcher.switch("India and China", record_id=record_id)
        assert len(switched.spans) == 2 and len(switched.embedded_langs) == 1
        assert switched.embedded_langs[0] in ("hin_Deva", "tam_Taml")  # China has no Urdu label
    langs = {switcher.switch("India and China", record_id=str(i)).embedded_langs[0] for i in range(20)}
    assert langs == {"hin_Deva", "tam_Taml"}


def test_entity_mode_draws_per_entity():
    switcher = EntitySwitcher(lexicon=_small_lexicon(), targets=["urd_Arab", "tam_Taml"], target_mode="entity")
    seen = set()
    for record_id in map(str, range(30)):
        spans = switcher.switch("India and China", record_id=record_id).spans
        assert spans[1].lang == "tam_Taml"  # the only target China has
        seen.add(spans[0].lang)
    assert seen == {"urd_Arab", "tam_Taml"}


def test_missing_label_is_skipped_or_transliterated():
    text = "Kolkata and India"
    skipped = EntitySwitcher(lexicon=_small_lexicon()).switch(text, target="ben_Beng")
    assert skipped.spans == () and skipped.text == text
    converted = EntitySwitcher(lexicon=_small_lexicon(), missing="transliterate").switch(text, target="ben_Beng")
    assert converted.text == "কোলকাতা and ভারত"
    assert {s.method for s in converted.spans} == {"transliteration"}
    romanised = EntitySwitcher(lexicon=_small_lexicon(), missing="transliterate").switch(text, target="hin_Latn")
    assert romanised.text == "kolkata and bharat"
    # no transliteration reaches the Perso-Arabic script: Kolkata stays
    urdu = EntitySwitcher(lexicon=_small_lexicon(), missing="transliterate").switch(text, target="urd_Arab")
    assert urdu.text == "Kolkata and بھارت"


def test_markers_wrap_insertions_and_spans_exclude_them(cldr):
    switched = EntitySwitcher(lexicon=cldr, markers=True).switch("India and China.", target="zho_Hans")
    assert switched.text == "<zho_Hans>印度</zho_Hans> and <zho_Hans>中国</zho_Hans>."
    assert [switched.text[s.start : s.end] for s in switched.spans] == ["印度", "中国"]
    assert unswitch(switched, markers=True) == "India and China."


def test_switcher_arguments_are_validated(cldr):
    for options, message in [
        ({"policy": "some"}, "policy"),
        ({"fraction": 0.0}, "fraction"),
        ({"k": 0}, "k must be"),
        ({"targets": ["hin_Deva", "urd_Arab"]}, "fixed takes one target"),
        ({"target_mode": "sentence"}, "name at least one"),
        ({"targets": ["xx-not-a-language"]}, "targets"),
        ({"missing": "guess"}, "missing"),
    ]:
        with pytest.raises(ValueError, match=message):
            EntitySwitcher(lexicon=cldr, **options)
    with pytest.raises(ValueError, match="no target language"):
        EntitySwitcher(lexicon=cldr).switch("India")


# --- the stage -----------------------------------------------------------------------------------


def _segments(rows: list[dict], with_mentions: bool = False) -> pa.RecordBatch:
    schema = load_schema("segment")
    if with_mentions:
        mention = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("entity_id", pa.string())])
        schema = schema.append(pa.field("mentions", pa.list_(mention)))
    return pa.RecordBatch.from_pylist(rows, schema=schema)


def test_stage_writes_codeswitch_records_and_counts_them_as_created(tmp_path):
    lexicon_path = tmp_path / "lex.parquet"
    _small_lexicon().write_parquet(lexicon_path)
    stage = EntitySwitchStage(lexicon_path=str(lexicon_path), targets=["hin_Deva", "tam_Taml"], mentions="given", variants=2, seed=7)
    batch = _segments(
        [
            {
                "id": "s1",
                "source": "news",
                "text": "India and China",
                "lang": "eng_Latn",
                "meta": [{"key": "url", "value": "http://x"}],
                "mentions": None,
            },
            {"id": "s2", "source": "news", "text": "Nothing here", "lang": "eng_Latn", "mentions": None},
            {"id": "s3", "source": "news", "text": "India in Hindi", "lang": "hin_Deva", "mentions": None},
            {"id": "s4", "source": "news", "text": "India", "lang": None, "mentions": [{"start": 0, "end": 9, "entity_id": "IN"}]},
            {
                "id": "s5",
                "source": "news",
                "text": "the big country",
                "lang": "eng_Latn",
                "mentions": [{"start": 8, "end": 15, "entity_id": "IN"}],
            },
        ],
        with_mentions=True,
    )
    split = stage.process(batch)
    table = conform(split.kept, load_schema("codeswitch"))  # exactly codeswitch.v1
    rows = table.to_pylist()
    assert [(r["source_id"], entries_dict(r["meta"])["cs.variant"]) for r in rows] == [("s1", "0"), ("s1", "1"), ("s5", "0"), ("s5", "1")]
    assert len({r["id"] for r in rows}) == 4
    first = rows[0]
    assert first["source_text"] == "India and China" and first["matrix_lang"] == "eng_Latn"
    assert entries_dict(first["meta"])["url"] == "http://x" and entries_dict(first["meta"])["cs.stage"] == "entity_switch"
    for row in rows:
        for span in row["spans"]:
            assert row["text"][span["start"] : span["end"]] == _small_lexicon().label(span["entity_id"], span["lang"])
    assert rows[2]["text"] in ("the big भारत", "the big இந்தியா")
    assert [(r["id"], r["reason"]) for r in split.rejected.to_pylist()][0][1] == "bad_mentions"
    tally = stage.tally(split)
    assert tally.total("created") == 5 and tally.total("rejected") == 1 and tally.total("rejected:bad_mentions") == 1
    assert Tally.merge([tally]).total("out") == 0


def test_stage_rejects_rows_whose_given_mentions_are_not_spans(tmp_path):
    """A mentions column of the wrong shape (strings, numbers, one struct per row) rejects each
    row as bad_mentions instead of failing the run."""
    lexicon_path = tmp_path / "lex.parquet"
    _small_lexicon().write_parquet(lexicon_path)
    stage = EntitySwitchStage(lexicon_path=str(lexicon_path), targets=["hin_Deva"], mentions="given")
    for column in (pa.array(["0:5:IN"]), pa.array([[0, 5]]), pa.array([{"start": 0, "end": 5, "entity_id": "IN"}])):
        batch = pa.RecordBatch.from_pydict({"id": ["s1"], "source": ["news"], "text": ["India"], "lang": ["eng_Latn"], "mentions": column})
        split = stage.process(batch)
        assert split.kept.num_rows == 0
        assert [(r["source"], r["reason"], r["preview"]) for r in split.rejected.to_pylist()] == [("news", "bad_mentions", "India")]


def test_stage_defaults_to_cldr_and_validates_cheaply(tmp_path):
    with pytest.raises(ValueError, match="nowhere.parquet"):
        EntitySwitchStage(lexicon_path=str(tmp_path / "nowhere.parquet"), targets=["hin_Deva"])
    with pytest.raises(ValueError, match="mentions"):
        EntitySwitchStage(targets=["hin_Deva"], mentions="ner")
    stage = EntitySwitchStage(targets=["urd_Arab"])
    split = stage.process(_segments([{"id": "a", "source": "s", "text": "Pakistan and India.", "lang": "eng_Latn"}]))
    ur = Locale.parse("ur").territories
    assert split.kept.column("text").to_pylist() == [f"{ur['PK']} and {ur['IN']}."]
    assert stage.describe()["lexicon"] == cldr_lexicon_id() and babel.__version__ in cldr_lexicon_id()  # keys change between Babel releases
