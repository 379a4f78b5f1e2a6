"""Human-vs-machine translation consistency with a tiny real CTranslate2 model (the project's copy
model: it translates a sentence into itself, so a faithful "human translation" here is the source
with a word changed): planted mistranslations (the human side replaced by another item's
sentence) rank lowest, ids and labels are kept, bad rows are rejected, the manifest balances."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.dataset as ds
import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("sentencepiece")

import apache_beam as beam  # noqa: E402

from corpusforge.config import ConfigError  # noqa: E402
from corpusforge.mt.testing import build_model  # noqa: E402
from corpusforge.pipelines import translation_consistency as job  # noqa: E402
from corpusforge.schemas import entries_dict, load_schema  # noqa: E402

pytestmark = pytest.mark.slow

NOUNS = "cat dog bird teacher farmer child doctor river train market garden letter".split()
VERBS = "sees finds likes paints follows visits carries watches".split()
PLACES = "near the old bridge|in the busy market|under a tall tree|at the small station|beside the quiet lake".split("|")


def sentence(rng: random.Random) -> str:
    return f"The {rng.choice(NOUNS)} {rng.choice(VERBS)} a {rng.choice(NOUNS)} {rng.choice(PLACES)}."


def perturbed(text: str, rng: random.Random) -> str:
    """A faithful translation for a copy model: the source with one word changed."""
    words = text.split()
    words[rng.randrange(1, len(words) - 1)] = rng.choice(NOUNS)
    return " ".join(words)


@pytest.fixture(scope="module")
def eval_set():
    rng = random.Random(7)
    rows = [{"id": f"x{i}", "premise": sentence(rng), "hypothesis": sentence(rng), "label": i % 3} for i in range(40)]
    planted = {("hin_Deva", "x3"), ("hin_Deva", "x17"), ("urd_Arab", "x8"), ("urd_Arab", "x30")}
    unrelated = [
        "Stock prices fell sharply on Monday morning.",
        "Please restart your computer to finish the update.",
        "Heavy rain is expected across the northern region tonight.",
        "Our office will be closed during the public holiday.",
    ]
    human = {}
    for lang in ("hin_Deva", "urd_Arab"):
        human[lang] = []
        for row in rows:
            premise = unrelated.pop() if (lang, row["id"]) in planted else perturbed(row["premise"], rng)
            human[lang].append(
                {"id": row["id"], "premise": premise, "hypothesis": perturbed(row["hypothesis"], rng), "label": row["label"]}
            )
    return rows, human, planted, unrelated


@pytest.fixture(scope="module")
def model(tmp_path_factory, eval_set):
    rows, human, _, _ = eval_set
    texts = [r[f] for r in rows for f in ("premise", "hypothesis")] + [r["premise"] for rs in human.values() for r in rs]
    return build_model(tmp_path_factory.mktemp("mt") / "nllb", texts * 2, languages=("eng_Latn", "hin_Deva", "urd_Arab"))


def write_jsonl(path: Path, rows: list, extra_lines: tuple[str, ...] = ()) -> str:
    path.write_text("\n".join([json.dumps(r, ensure_ascii=False) for r in rows] + list(extra_lines)) + "\n", encoding="utf-8")
    return str(path)


def run(cfg: dict) -> tuple[Path, dict]:
    with beam.Pipeline(runner="DirectRunner") as p:
        job.build(p, cfg)
    out = Path(cfg["output"])
    return out, json.loads((out / "_manifest.json").read_text(encoding="utf-8"))


def items(out: Path) -> list[dict]:
    files = sorted(str(f) for f in (out / "consistency").rglob("*.parquet"))
    return ds.dataset(files, format="parquet").to_table().to_pylist()


def translate_options(model: Path) -> dict:
    return {"model": str(model), "beam_size": 1, "max_input_length": 64}


def test_xnli_layout_ranks_planted_mistranslations_lowest(model, eval_set, tmp_path):
    rows, human, planted, _ = eval_set
    hi_extra = (
        json.dumps({"id": "orphan", "premise": "A cat.", "hypothesis": "A dog.", "label": 0}),  # no English row
        json.dumps({"id": "x5", "premise": "again", "hypothesis": "again", "label": 0}),  # x5 twice
        json.dumps({"id": "x6b", "premise": "", "hypothesis": "A dog.", "label": 0}),
        "{broken",
    )
    english = write_jsonl(tmp_path / "en.jsonl", rows + [{"id": "x6b", "premise": "The cat.", "hypothesis": "The dog.", "label": 1}])
    cfg = {
        "name": "xnli",
        "fields": ["premise", "hypothesis"],
        "keep": ["label"],
        "english": [english],
        "languages": {
            "hi": [write_jsonl(tmp_path / "hi.jsonl", human["hin_Deva"], hi_extra)],
            "urd_Arab": [write_jsonl(tmp_path / "ur.jsonl", human["urd_Arab"])],
        },
        "translate": translate_options(model),
        "threshold": 40.0,
        "lowest": 3,
        "output": str(tmp_path / "out"),
    }
    out, manifest = run(cfg)
    scored = items(out)
    assert manifest["balanced"]
    assert len(scored) == 2 * 2 * len(rows) + 1  # every (row, language, field) of the 40 rows, and x6b's hypothesis (its premise is empty)
    for lang in ("hin_Deva", "urd_Arab"):
        mine = sorted((r for r in scored if r["lang"] == lang), key=lambda r: (r["consistency"], r["id"]))
        worst = {(lang, r["item_id"]) for r in mine[:2]}
        assert worst == {key for key in planted if key[0] == lang}  # the planted items, and only they, rank lowest
        assert all(r["field"] == "premise" for r in mine[:2])
        planted_rows = [r for r in mine if (lang, r["item_id"]) in planted and r["field"] == "premise"]
        others = [r for r in mine if r not in planted_rows]
        for score in ("chrf_mt", "chrf_bt", "bleu_mt", "bleu_bt"):  # both directions and both metrics see it
            assert max(r[score] for r in planted_rows) < min(r[score] for r in others)
        summary = manifest["consistency"]["languages"][lang]
        assert summary["below_threshold"] == 2 and summary["share_below_threshold"] == pytest.approx(2 / len(mine))
        assert [r["item_id"] for r in summary["lowest"][:2]] == [r["item_id"] for r in mine[:2]]
        assert set(summary["scores"]) == {"chrf_mt", "bleu_mt", "chrf_bt", "bleu_bt", "consistency"}
    labels = {r["id"]: r["label"] for r in rows} | {"x6b": 0}
    for r in scored:  # ids and labels kept (the human row's)
        assert entries_dict(r["meta"]) == {"label": str(labels[r["item_id"]])}
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == manifest["consistency"]
    reasons = sorted(
        r["reason"] for r in ds.dataset(out / "rejected", format="parquet", schema=load_schema("rejected")).to_table().to_pylist()
    )
    # orphan: both fields; x5 again: both fields; x6b: its empty premise; the broken line
    assert reasons == sorted(["missing_source"] * 2 + ["duplicate_id"] * 2 + ["empty_text", "invalid_json"])
    totals = manifest["totals"]
    assert totals["read"] == 2 * len(rows) + len(hi_extra) and totals["written"] == len(scored)
    assert totals["created"] == (2 * len(rows) + len(hi_extra) - 1)  # a row of two fields: read once, created once more


def test_wide_layout_and_config_errors(model, eval_set, tmp_path):
    rows, human, planted, _ = eval_set
    wide = [{"id": r["id"], "premise": r["premise"], "premise_hi": h["premise"]} for r, h in zip(rows, human["hin_Deva"])]
    cfg = {
        "name": "wide",
        "fields": ["premise"],
        "inputs": [write_jsonl(tmp_path / "wide.jsonl", wide)],
        "languages": {"hin_Deva": {"premise": "premise_hi"}},
        "translate": translate_options(model),
        "output": str(tmp_path / "wide-out"),
    }
    out, manifest = run(cfg)
    scored = sorted(items(out), key=lambda r: (r["consistency"], r["id"]))
    assert manifest["balanced"] and len(scored) == len(rows)
    assert {r["item_id"] for r in scored[:2]} == {i for lang, i in planted if lang == "hin_Deva"}
    with pytest.raises(ConfigError, match="fra_Latn|LanguageNotSupported|language"):
        job.build(beam.Pipeline(runner="DirectRunner"), {**cfg, "languages": {"fra_Latn": {"premise": "premise_hi"}}})
    with pytest.raises(ConfigError, match="english"):
        job.build(beam.Pipeline(runner="DirectRunner"), {**cfg, "languages": {"hin_Deva": ["x.jsonl"]}})
