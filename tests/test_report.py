"""``corpusforge report``: every number the page states is what the output's Parquet holds,
recomputed here independently with pyarrow (and plain Python over rows) and read back from the
page's tables; data is escaped; the page refers to nothing on the network; an existing file
it did not write is never replaced; gs:// outputs read through Beam's filesystems, local ones
without importing Beam."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from report_page import Page, parse

from corpusforge.analysis.report import write_report
from corpusforge.analysis.testing import HOSTILE, write_synthetic_output
from corpusforge.cli import main
from corpusforge.config import ConfigError
from corpusforge.inspection import describe_output
from corpusforge.outputs import CORPUS_LAYOUT


def _table(output: Path, name: str) -> pa.Table:
    return ds.dataset(str(output / name), format="parquet").to_table()


def _close(a: float | None, b: float, rel: float = 1e-6) -> bool:
    return a is not None and b == pytest.approx(a, rel=rel, abs=1e-9)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Page, str]:
    output = tmp_path_factory.mktemp("report") / "demo"
    assert main(["demo", "--output", str(output), "--no-progress"]) == 0
    page_path, _ = write_report(str(output))
    text = Path(page_path).read_text(encoding="utf-8")
    return output, parse(text), text


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, Page, str]:
    output = tmp_path_factory.mktemp("report") / "synthetic"
    write_synthetic_output(output, 3000, hostile=True, sampling=True, unbalanced=True)
    page_path, _ = write_report(str(output))
    text = Path(page_path).read_text(encoding="utf-8")
    return output, parse(text), text


def _sides(table: pa.Table) -> pa.Table:
    """Each text of a record under its own language, with its byte columns (bitext: both sides)."""
    if "src_text" not in table.column_names:
        return table.select(["lang", "n_bytes", "norm_bytes"])
    return pa.concat_tables(
        [
            table.select([f"{p}lang", f"{p}n_bytes", f"{p}norm_bytes"]).rename_columns(["lang", "n_bytes", "norm_bytes"])
            for p in ("src_", "tgt_")
        ]
    )


def _check_languages(page: Page, output: Path, name: str) -> None:
    sides = _sides(_table(output, name))
    expected = {
        r["lang"]: r
        for r in sides.group_by("lang").aggregate([("n_bytes", "count"), ("n_bytes", "sum"), ("norm_bytes", "sum")]).to_pylist()
    }
    total_bytes, total_norm = pc.sum(sides["n_bytes"]).as_py(), pc.sum(sides["norm_bytes"]).as_py()
    rows = page.rows(f"languages-{name}")
    assert {r["language"].text for r in rows} == set(expected)
    for r in rows:
        e = expected[r["language"].text]
        texts = next(c for h, c in r.items() if h in ("segments", "texts (each side of a pair)"))
        assert texts.value == e["n_bytes_count"] and texts.text == f"{e['n_bytes_count']:,}"
        assert r["raw bytes"].value == e["n_bytes_sum"] and r["raw bytes"].text == f"{e['n_bytes_sum']:,}"
        assert _close(r["English-equivalent bytes"].value, e["norm_bytes_sum"])
        assert r["English-equivalent bytes"].text == f"{e['norm_bytes_sum']:,.0f}"
        assert _close(r["byte premium"].value, e["n_bytes_sum"] / e["norm_bytes_sum"])
        assert _close(r["share of raw bytes"].value, e["n_bytes_sum"] / total_bytes)
        assert _close(r["share of English-equivalent bytes"].value, e["norm_bytes_sum"] / total_norm)
        assert r["share of English-equivalent bytes"].text == f"{100 * e['norm_bytes_sum'] / total_norm:.1f} %"


def _check_lid(page: Page, output: Path, name: str) -> None:
    table = _table(output, name)
    prefixes = ["src_", "tgt_"] if name == "bitext" else [""]
    scores: dict[str, list[float]] = {}
    confusions: Counter = Counter()
    for p in prefixes:
        for row in table.select([f"{p}lang", f"{p}lang_score", f"{p}lang_topk"]).to_pylist():
            lang, score, topk = row[f"{p}lang"] or "und", row[f"{p}lang_score"], row[f"{p}lang_topk"] or []
            if score is None:
                continue
            scores.setdefault(lang, []).append(score)
            others = [t for t in topk[:2] if t["lang"] != lang]
            if others and others[0]["score"] >= 0.1:
                confusions[(lang, others[0]["lang"])] += 1
    rows = page.rows(f"lid-{name}")
    assert {r["language"].text: r["rows"].value for r in rows} == {lang: len(s) for lang, s in scores.items()}
    for r in rows:
        s = scores[r["language"].text]
        assert _close(r["mean confidence"].value, sum(s) / len(s), rel=1e-6)
        assert r["rows below 0.5"].value == sum(1 for v in s if v < 0.5)
    if f"confusions-{name}" in page.tables:
        stated = {(r["language"].text, r["confused with"].text): r["rows"].value for r in page.rows(f"confusions-{name}")}
        top = sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        assert stated == dict(top)
    else:
        assert not confusions


def test_demo_report_states_what_the_parquet_holds(demo):
    output, page, _ = demo
    assert page.sections == ["signature", "languages", "lid", "rejections", "codeswitch"]
    for name in ("segment", "bitext"):
        _check_languages(page, output, name)
        _check_lid(page, output, name)

    # accounting: rows written and rejected per source, counted in the shards, match the page,
    # and the page's identity holds on every row
    written: Counter = Counter()
    for name in ("segment", "bitext", "codeswitch"):
        for r in _table(output, name).group_by("source").aggregate([("id", "count")]).to_pylist():
            written[r["source"]] += r["id_count"]
    rejected = Counter(
        {r["source"]: r["id_count"] for r in _table(output, "rejected").group_by("source").aggregate([("id", "count")]).to_pylist()}
    )
    rows = page.rows("accounting")
    assert {r["source"].text for r in rows} == set(written) | set(rejected)
    for r in rows:
        source = r["source"].text
        assert r["written"].value == written[source] and r["rejected"].value == rejected[source]
        assert r["read"].value + r["created"].value == r["written"].value + r["rejected"].value + r["duplicates"].value
        assert r["balanced"].text == "yes"
    assert page.elements["accounting-status"]["class"] == "ok"

    # rejections by stage and reason, stored vs manifest
    stored = {
        (r["stage"], r["reason"]): r["id_count"]
        for r in _table(output, "rejected").group_by(["stage", "reason"]).aggregate([("id", "count")]).to_pylist()
    }
    stated = {(r["stage"].text, r["reason"].text): r["rows stored"].value for r in page.rows("rejections-table")}
    assert stated == stored
    examples = Counter((r["stage"].text, r["reason"].text) for r in page.rows("rejection-examples"))
    assert examples == {key: min(n, 3) for key, n in stored.items()}

    # code-switching
    cs = _table(output, "codeswitch")
    embedded = Counter(lang for langs in cs["embedded_langs"].to_pylist() for lang in langs)
    assert {r["embedded language"].text: r["rows"].value for r in page.rows("embedded-codeswitch")} == embedded
    points = Counter(cs["switch_points"].to_pylist())
    assert {int(r["switch points"].value): r["rows"].value for r in page.rows("switch-points-codeswitch")} == points
    summary = page.elements["codeswitch-codeswitch-summary"]
    assert int(summary["data-rows"]) == cs.num_rows
    assert float(summary["data-mean-cmi"]) == pytest.approx(pc.mean(cs["cmi"]).as_py())
    shown = page.rows("codeswitch-examples")
    first = cs.slice(0, len(shown)).to_pylist()  # the examples are the first rows, spans marked in code points
    assert [r["switched text (spans marked)"].text for r in shown] == [row["text"] for row in first]
    assert page.marks == [row["text"][span["start"] : span["end"]] for row in first for span in row["spans"]]

    # figures inline and beside the page; nothing from the network; how long it took
    assert page.figures == ["fig-languages", "fig-lid_confidence", "fig-cmi", "fig-switch_points"]
    assert all(src.startswith("data:image/png;base64,") for src in page.images) and len(page.images) == 4
    assert all(url.startswith(("#", "data:")) for url in page.urls)
    for fig in page.figures:
        assert (output / "report" / (fig.removeprefix("fig-") + ".png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert float(page.elements["report-seconds"]["data-value"]) > 0


def test_report_escapes_data_and_states_sampling_translation_and_thresholds(synthetic):
    output, page, text = synthetic
    assert "<script" not in text.lower() and "<b>" not in text
    assert html_escaped(HOSTILE) in text  # in rejection previews and code-switch examples
    assert page.sections == ["signature", "languages", "lid", "rejections", "codeswitch", "translation"]
    status = page.elements["accounting-status"]
    assert status["class"] == "bad" and "NOT BALANCED" in text
    assert [r["balanced"].text for r in page.rows("accounting")] == ["NO"]

    manifest = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    sampling = manifest["sampling"]["languages"]
    rows = page.rows("sampling")
    assert {r["language"].text for r in rows} == set(sampling)
    for r in rows:
        e = sampling[r["language"].text]
        assert r["target share"].value == pytest.approx(e["target_share"]) and r["achieved share"].value == pytest.approx(
            e["achieved_share"]
        )
        assert r["error (pp)"].value == pytest.approx(e["share_error_pp"])

    bitext = _table(output, "bitext")
    mt = bitext.filter(pc.is_in(bitext["origin"], pa.array(["mt", "backtranslation"])))
    expected: dict[tuple[str, str], list[int]] = {}
    for row in mt.select(["src_lang", "tgt_lang", "src_text", "mt_truncated"]).to_pylist():
        e = expected.setdefault((row["src_lang"], row["tgt_lang"]), [0, 0, 0])
        e[0] += 1
        e[1] += len(row["src_text"].split())
        e[2] += bool(row["mt_truncated"])
    stated = {
        (r["from"].text, r["to"].text): [r["pairs"].value, r["source tokens (whitespace)"].value, r["truncated"].value]
        for r in page.rows("translation-directions")
    }
    assert stated == expected

    rejected = _table(output, "rejected").filter(pc.equal(_table(output, "rejected")["stage"], "lang_filter")).to_pylist()
    by_threshold = Counter((r["reason"], r["detail"].rsplit("< ", 1)[1] if "< " in r["detail"] else "–") for r in rejected)
    assert {(r["reason"].text, r["threshold"].text): r["rows rejected"].value for r in page.rows("lid-thresholds")} == by_threshold

    _check_languages(page, output, "segment")
    _check_lid(page, output, "segment")


def html_escaped(value: str) -> str:
    import html

    return html.escape(value, quote=True)


def test_report_never_replaces_a_file_it_did_not_write(tmp_path):
    output = tmp_path / "out"
    write_synthetic_output(output, 200)
    mine = output / "report" / "report.html"
    mine.parent.mkdir()
    mine.write_text("my notes", encoding="utf-8")
    with pytest.raises(ConfigError, match="not written by corpusforge report"):
        write_report(str(output))
    assert mine.read_text(encoding="utf-8") == "my notes"
    mine.unlink()
    write_report(str(output))
    (output / "report" / "sampling.png").write_bytes(b"an earlier report's figure")
    page, report = write_report(str(output))  # its own page: replaced, with its stale figures removed
    assert not (output / "report" / "sampling.png").exists()
    assert sorted(p.name for p in (output / "report").iterdir()) == sorted(["report.html", *(f.name for f in report.figures)])


def test_an_overwrite_clears_the_report_with_its_output_and_nothing_else():
    for name in ("report", "report/report.html", "report/languages.png"):
        assert CORPUS_LAYOUT.owns(name, is_dir=name == "report")
    assert not CORPUS_LAYOUT.owns("report/notes.txt")


def test_report_through_beam_filesystems_matches_the_local_one(synthetic, tmp_path):
    from corpusforge.beam.outputs import beam_create
    from corpusforge.beam.read import beam_open

    output, page, _ = synthetic
    _, remote = write_report(str(output), opener=beam_open, creator=beam_create)
    through_beam = parse(remote.html)
    assert through_beam.tables.keys() == page.tables.keys()
    for name in page.tables:
        assert [[c.value for c in row] for row in through_beam.tables[name]] == [[c.value for c in row] for row in page.tables[name]]


def test_local_report_imports_no_beam(synthetic):
    output, _, _ = synthetic
    code = (
        "import sys; from corpusforge.analysis.report import write_report; write_report(sys.argv[1]); print('apache_beam' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(output)], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_cli_report_prints_a_summary(synthetic, capsys):
    output, _, _ = synthetic
    assert main(["report", str(output)]) == 0
    out = capsys.readouterr().out
    assert f"{output}/report/report.html" in out and "rows scanned in" in out and "NOT BALANCED" in out
    assert main(["report", str(output / "missing")]) == 2


def test_inspect_shows_languages_sampling_and_stage_counts(synthetic):
    output, _, _ = synthetic
    text = describe_output(str(output), rows=1)
    manifest = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    assert "per-stage counts:" in text and "languages written (languages):" in text and "sampling (seed 0):" in text
    for lang, e in manifest["sampling"]["languages"].items():
        line = next(line for line in text.splitlines() if line.strip().startswith(lang) and f"{100 * e['target_share']:.1f}%" in line)
        assert f"{100 * e['achieved_share']:.1f}%" in line
    assert "run: synthetic, started 2026-01-01T00:00:00Z" in text


def test_report_states_transliteration_and_tokenizer_parity(tmp_path):
    output = tmp_path / "out"
    write_synthetic_output(output, 500, translit=True)
    parity = {
        "name": "parity-job",
        "raw": {"languages": {"eng_Latn": {"parity": 1.0, "fertility": 9.5}, "mya_Mymr": {"parity": 3.77, "fertility": 35.8}}},
        "balanced": {"languages": {"eng_Latn": {"parity": 1.0, "fertility": 10.1}, "mya_Mymr": {"parity": 2.01, "fertility": 20.3}}},
    }
    (output / "parity.json").write_text(json.dumps(parity), encoding="utf-8")
    page_path, report = write_report(str(output))
    page = parse(Path(page_path).read_text(encoding="utf-8"))
    assert "translit" in report.sections and "parity" in report.sections
    segment = _table(output, "segment")
    translit = segment.filter(pc.is_valid(segment["text_translit"]))
    counts = Counter(translit["lang"].to_pylist())
    assert {r["language"].text: r["rows transliterated"].value for r in page.rows("translit-segments")} == counts
    examples = page.rows("translit-examples")
    assert [(r["text"].text, r["transliterated"].text) for r in examples] == [
        (t["text"], t["text_translit"]) for t in translit.slice(0, 5).to_pylist()
    ]
    stated = {r["language"].text: (r["parity (raw)"].value, r["parity (balanced)"].value) for r in page.rows("parity-table")}
    assert stated == {
        lang: (parity["raw"]["languages"][lang]["parity"], parity["balanced"]["languages"][lang]["parity"])
        for lang in ("eng_Latn", "mya_Mymr")
    }
