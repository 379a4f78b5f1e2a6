"""Byte premiums: the paper's computation, table loading, precedence, imputation for unknown
languages, the embedded estimate, and the annotating stage."""

import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

from corpusforge.premium import (
    FewUnitsWarning,
    LanguageStats,
    PremiumTable,
    byte_premiums_from_parallel,
    premium,
)
from corpusforge.schemas import conform, extend, load_schema
from corpusforge.transforms.premium import BytePremiumAnnotator

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

EN = ["Save", "Delete the file?", "Log out", "", "Search", "Add another"]
HI = ["सहेजें", "फ़ाइल मिटाएँ?", "लॉग आउट", "कुछ", "", "एक और जोड़ें"]
UR = ["محفوظ کریں", "", "لاگ آؤٹ", "", "تلاش", ""]


def write_tsv(path: Path, columns: dict[str, list[str]]) -> Path:
    names = list(columns)
    lines = ["\t".join(names)] + ["\t".join(columns[n][i] for n in names) for i in range(len(columns[names[0]]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_ratio(lang: list[str], ref: list[str]) -> float:
    shared = [(a, b) for a, b in zip(lang, ref) if a and b]
    return sum(len(a.encode()) for a, _ in shared) / sum(len(b.encode()) for _, b in shared)


@pytest.fixture
def parallel_tsv(tmp_path):
    return write_tsv(tmp_path / "parallel.tsv", {"unit": [f"u{i}" for i in range(6)], "en": EN, "hi": HI, "ur": UR})


def test_premium_is_bytes_over_units_shared_with_the_reference(parallel_tsv):
    with pytest.warns(FewUnitsWarning) as caught:
        table = byte_premiums_from_parallel(parallel_tsv, seed=3)
    assert "hin_Deva: premium from only 4 units" in " ".join(str(w.message) for w in caught)
    hin, urd = table.premium("hin_Deva"), table.premium("ur")
    assert hin.value == pytest.approx(expected_ratio(HI, EN)) and hin.units == 4
    assert urd.value == pytest.approx(expected_ratio(UR, EN)) and urd.units == 3
    assert hin.source == "parallel" and hin.origin == str(parallel_tsv)
    assert hin.ci_low <= hin.value <= hin.ci_high
    assert "unit" not in " ".join(table.languages())  # non-language columns are not languages
    # the bootstrap is seeded: same seed, same interval
    with pytest.warns(FewUnitsWarning):
        again = byte_premiums_from_parallel(parallel_tsv, seed=3)
    assert (again.premium("hin_Deva").ci_low, again.premium("hin_Deva").ci_high) == (hin.ci_low, hin.ci_high)


def test_no_warning_from_100_units_and_interval_narrows(tmp_path):
    path = write_tsv(tmp_path / "p.tsv", {"en": EN[:3] * 40, "hi": HI[:3] * 40})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = byte_premiums_from_parallel(path)
    p = table.premium("hin_Deva")
    assert p.units == 120 and p.value == pytest.approx(expected_ratio(HI[:3], EN[:3]))
    assert p.ci_high - p.ci_low < 0.5


def test_flores_directory_gives_the_same_premiums_as_the_tsv(tmp_path, parallel_tsv):
    flores = tmp_path / "flores"
    flores.mkdir()
    for code, lines in (("eng_Latn", EN), ("hin_Deva", HI), ("urd_Arab", UR)):
        (flores / f"{code}.devtest").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(FewUnitsWarning):
        from_dir = byte_premiums_from_parallel(flores, seed=3)
        from_tsv = byte_premiums_from_parallel(parallel_tsv, seed=3)
    assert from_dir.manifest(["hin_Deva", "urd_Arab"]) != {}
    for lang in ("hin_Deva", "urd_Arab"):
        a, b = from_dir.premium(lang), from_tsv.premium(lang)
        assert (a.value, a.units, a.ci_low, a.ci_high) == (b.value, b.units, b.ci_low, b.ci_high)

    (flores / "hin_Deva.dev").write_text("x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="choose one with split"):
        byte_premiums_from_parallel(flores)
    (flores / "tam_Taml.devtest").write_text("ஒன்று\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"misaligned.*tam_Taml\.devtest \(1 lines\)"):
        byte_premiums_from_parallel(flores, split="devtest")


def test_tsv_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        byte_premiums_from_parallel(tmp_path / "missing.tsv")
    path = write_tsv(tmp_path / "noref.tsv", {"hi": HI, "ur": UR})
    with pytest.raises(ValueError, match="reference language eng_Latn"):
        byte_premiums_from_parallel(path)


def test_repeated_language_columns_keep_the_plain_locale(tmp_path):
    path = write_tsv(tmp_path / "p.tsv", {"en": EN, "en_GB": ["x" * 50] * 6, "hi": HI})
    with pytest.warns(UserWarning) as caught:
        table = byte_premiums_from_parallel(path)
    assert "['en_GB'] repeat" in " ".join(str(w.message) for w in caught)
    assert table.premium("hin_Deva").value == pytest.approx(expected_ratio(HI, EN))


PAPER_LIKE = (
    "lang\tbyte_coef_nllb\tiso\tscript_name\tbyte_coef\tsource\n"
    "abk_cyrl\t\tabk\tcyrl\t\t\n"  # no figure: skipped
    "hin_deva\t2.4\thin\tdeva\t2.37\tnllb\n"
    "mar_deva\t2.5\tmar\tdeva\t2.61\tnllb\n"
    "nep_deva\t\tnep\tdeva\t2.45\tflores\n"
    "deu_latn\t1.0\tdeu\tlatn\t1.05\tnllb\n"
    "fra_latn\t1.1\tfra\tlatn\t1.17\tnllb\n"
    "spa_latn\t1.1\tspa\tlatn\t1.13\tnllb\n"
    "zho_hans\t0.9\tzho\thans\t0.94\tnllb\n"
)


@pytest.fixture
def paper_table(tmp_path):
    path = tmp_path / "all_merged.tsv"
    path.write_text(PAPER_LIKE, encoding="utf-8")
    return path


def test_load_reads_the_papers_table_format(paper_table):
    table = PremiumTable.load(paper_table)
    assert len(table) == 7 and "abk_Cyrl" not in table
    for code in ("hin_Deva", "hi", "hin-Deva"):
        found = table.premium(code)
        assert (found.lang, found.value, found.source, found.imputed) == ("hin_Deva", 2.37, "table", False)
    assert premium("zh-Hans", table=table).value == 0.94


def test_load_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("language\tcoef\nhin_deva\t2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv lacks column\(s\) \['byte_coef', 'lang'\]"):
        PremiumTable.load(bad)
    bad.write_text("lang\tbyte_coef\nhin_deva\t2\nurd_arab\tlots\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv:3"):
        PremiumTable.load(bad)
    bad.write_text("lang\tbyte_coef\nhin_deva\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be positive"):
        PremiumTable.load(bad)
    with pytest.raises(ValueError, match="does not exist"):
        PremiumTable.load(tmp_path / "nope.tsv")


def test_unknown_language_gets_its_scripts_median_flagged_never_one(paper_table):
    table = PremiumTable.load(paper_table)
    mai = table.premium("mai_Deva")  # Maithili: not in the table, Devanagari is
    assert mai.value == pytest.approx(statistics.median([2.37, 2.61, 2.45]))
    assert (mai.source, mai.imputed) == ("script_median", True)
    lat = table.premium("ita_Latn")
    assert lat.value == pytest.approx(1.13) and lat.imputed
    # no language of the script known (Tamil), unreadable code, missing code: the table's median
    for code in ("tam_Taml", "not a language", None):
        found = table.premium(code)
        assert found.value == pytest.approx(statistics.median([2.37, 2.61, 2.45, 1.05, 1.17, 1.13, 0.94]))
        assert (found.source, found.imputed) == ("median", True)
    assert table.premium("eng_Latn").source == "reference" and table.premium("en").value == 1.0


def test_precedence_parallel_then_table_then_embedded(parallel_tsv, paper_table):
    with pytest.warns(FewUnitsWarning):
        table = PremiumTable.build(parallel=parallel_tsv, table=paper_table)
    assert table.premium("hin_Deva").source == "parallel"  # in all three
    assert table.premium("hin_Deva").value == pytest.approx(expected_ratio(HI, EN))
    assert table.premium("fra_Latn").source == "table"  # in the table and the estimate
    assert table.premium("tam_Taml").source == "cldr_estimate"  # only in the estimate
    manifest = table.manifest(["hin_Deva", "fra_Latn", "tam_Taml"])
    assert {lang: m["source"] for lang, m in manifest.items()} == {"hin_Deva": "parallel", "fra_Latn": "table", "tam_Taml": "cldr_estimate"}
    with pytest.raises(ValueError, match="no premium source"):
        PremiumTable.build(embedded=False)


def test_embedded_estimate_is_labelled_and_ranks_scripts_plausibly():
    table = PremiumTable.embedded()
    assert len(table) > 150
    for code in (
        "hin_Deva",
        "urd_Arab",
        "ben_Beng",
        "tam_Taml",
        "zho_Hans",
        "arb_Arab",
        "rus_Cyrl",
        "deu_Latn",
        "fra_Latn",
        "jpn_Jpan",
        "mya_Mymr",
    ):
        found = premium(code)
        assert found.source == "cldr_estimate" and found.units >= 100 and found.ci_low < found.value < found.ci_high
    # abugidas of South and South-East Asia need far more bytes than French; Chinese about as many
    assert min(premium(c).value for c in ("hin_Deva", "ben_Beng", "tam_Taml", "mya_Mymr")) > 2 * premium("fra_Latn").value
    assert 0.8 < premium("zho_Hans").value < 1.5
    header = Path(table.premium("hin_Deva").origin).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# ESTIMATE")


def test_embedded_estimate_is_reproducible_from_the_builder(tmp_path):
    babel = pytest.importorskip("babel")
    shipped = (REPO / "corpusforge" / "data" / "premiums_cldr.tsv").read_text(encoding="utf-8")
    if f"Babel {babel.__version__})" not in shipped.splitlines()[0]:
        pytest.skip(f"the shipped estimate was built with another Babel than {babel.__version__}")
    out = tmp_path / "premiums.tsv"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "build_cldr_premiums.py"), "--out", str(out)], check=True, capture_output=True
    )
    assert out.read_text(encoding="utf-8") == shipped


def segment_batch(rows):
    return pa.RecordBatch.from_pylist(
        [{"id": f"r{i}", "source": "s", "text": text, "lang": lang} for i, (text, lang) in enumerate(rows)],
        schema=load_schema("segment"),
    )


def test_stage_adds_sizes_premiums_and_provenance(paper_table):
    stage = BytePremiumAnnotator(table=paper_table, embedded=False)
    batch = segment_batch([("नमस्ते दुनिया", "hin_Deva"), ("hello", "eng_Latn"), ("bonjour", "fra_Latn"), ("संसार", "mai_Deva"), ("??", None)])
    split = stage.process(batch)
    assert split.rejected.num_rows == 0
    out = split.kept.to_pydict()
    assert out["n_bytes"] == [len(t.encode()) for t in out["text"]]
    assert out["n_chars"] == [len(t) for t in out["text"]]
    assert out["byte_premium"][:3] == [2.37, 1.0, 1.17]
    assert out["norm_bytes"] == pytest.approx([b / p for b, p in zip(out["n_bytes"], out["byte_premium"])])
    assert out["premium_source"] == ["table", "reference", "table", "script_median", "median"]
    assert out["premium_imputed"] == [False, False, False, True, True]
    # declared columns are the added ones, and the result conforms to base schema + declared
    schema = extend(load_schema("segment"), stage.output_fields("segment"))
    assert conform(split.kept, schema).num_rows == 5
    # running it again replaces, not duplicates, its columns
    assert stage.process(split.kept).kept.schema.names == split.kept.schema.names


def test_stage_annotates_each_side_of_bitext(paper_table):
    stage = BytePremiumAnnotator(table=paper_table, embedded=False)
    batch = pa.RecordBatch.from_pylist(
        [
            {
                "id": "b",
                "source": "s",
                "src_text": "hello",
                "tgt_text": "नमस्ते",
                "src_lang": "eng_Latn",
                "tgt_lang": "hin_Deva",
                "origin": "corpus",
            }
        ],
        schema=load_schema("bitext"),
    )
    kept = stage.process(batch).kept
    row = kept.to_pylist()[0]
    assert (row["src_n_bytes"], row["tgt_n_bytes"], row["src_byte_premium"], row["tgt_byte_premium"]) == (5, 18, 1.0, 2.37)
    assert conform(kept, extend(load_schema("bitext"), stage.output_fields("bitext"))).num_rows == 1
    stats = LanguageStats.of_batch(kept).to_dict()
    assert stats["hin_Deva"]["bytes"] == 18 and stats["eng_Latn"]["norm_bytes"] == 5.0


def test_stage_constructor_is_cheap_and_validates(tmp_path):
    with pytest.raises(ValueError, match=r"premium table .*nope\.tsv does not exist"):
        BytePremiumAnnotator(table=tmp_path / "nope.tsv")
    with pytest.raises(ValueError, match="no premium source"):
        BytePremiumAnnotator(embedded=False)
    with pytest.raises(ValueError, match="relative to eng_Latn"):
        BytePremiumAnnotator(reference="fra_Latn")
    stage = BytePremiumAnnotator()
    assert stage._premiums is None  # nothing loaded until setup()


def test_language_stats_shares_and_sources(paper_table):
    stage = BytePremiumAnnotator(table=paper_table, embedded=False)
    batch = stage.process(segment_batch([("नमस्ते", "hin_Deva"), ("hello", "eng_Latn"), ("hello", "eng_Latn")])).kept
    stats = LanguageStats.of_batch(batch).merge(LanguageStats.of_batch(batch)).to_dict()
    assert stats["eng_Latn"]["segments"] == 4 and stats["eng_Latn"]["bytes"] == 20
    assert stats["hin_Deva"]["norm_bytes"] == pytest.approx(2 * 18 / 2.37, abs=1e-3)
    assert stats["eng_Latn"]["share_segments"] == pytest.approx(4 / 6)
    assert stats["eng_Latn"]["share_norm_bytes"] == pytest.approx(20 / (20 + 2 * 18 / 2.37), abs=1e-4)
    assert stats["hin_Deva"]["premium_source"] == ["table"]


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "parallel_dev.tsv").is_file(), reason="../shared/data is absent")
def test_parallel_dev_orders_languages_as_published():
    published = {
        "hin_Deva": 2.37,
        "urd_Arab": 1.71,
        "ben_Beng": 2.43,
        "tam_Taml": 2.73,
        "zho_Hans": 0.94,
        "arb_Arab": 1.47,
        "rus_Cyrl": 1.82,
        "deu_Latn": 1.05,
        "fra_Latn": 1.17,
        "jpn_Jpan": 1.32,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = byte_premiums_from_parallel(SHARED / "parallel_dev.tsv", languages=list(published), n_bootstrap=200)
    computed = {code: table.premium(code).value for code in published}
    assert sorted(published, key=computed.get) == sorted(published, key=published.get)
    for code, value in published.items():  # UI strings vs news: within the README's ±25 %
        assert 0.75 < computed[code] / value < 1.25, code
