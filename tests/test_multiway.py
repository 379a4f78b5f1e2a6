"""Multi-way parallel tuples (Thompson et al. 2024): the greedy join recovers planted tuples from
bitext files that share sentences under different ids, gives the degree statistics the planted
structure implies, does not depend on input order, and runs in the corpus job (``multiway/``,
``mway_degree``, ``bitext_filter: {max_mway_degree}``) identically on every runner."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.config import load_recipe
from corpusforge.languages import canonical
from corpusforge.multiway.join import normalised
from corpusforge.pipelines.corpus import build, prepare_output
from corpusforge.schemas import load_schema
from corpusforge.transforms.bitext_filters import BitextFilter
from corpusforge.transforms.multiway import MultiwayJoin, join_batches

PARALLEL_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "parallel_dev.tsv"
LANGS = [f"l{i}" for i in range(8)]
CODES = ["eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "hin_Deva", "urd_Arab", "rus_Cyrl", "zho_Hans"]


def bitext(rows: list[dict]) -> pa.RecordBatch:
    """Bitext records from dicts (id, src_text, tgt_text, src_lang, tgt_lang, optional score)."""
    schema = load_schema("bitext")
    full = [{"source": "s", "origin": "corpus", **row} for row in rows]
    batch = pa.RecordBatch.from_pylist([{k: r.get(k) for k in schema.names} for r in full], schema=schema)
    if any("score" in r for r in rows):
        batch = batch.append_column("score", pa.array([r.get("score") for r in rows], pa.float64()))
    return batch


def generated_corpus(units: int, seed: int = 7) -> tuple[list[dict], Counter, dict[str, Counter]]:
    """Planted tuples: unit k has a hub language and 0..7 other languages, each joined to the hub
    by one pair (score 0.9), plus, for some units, a redundant pair between two leaves (score
    0.5: joined after the star, it finds both sentences in the tuple; were it first, the greedy
    join would found a second tuple and never merge the two). Returns the pairs, tuples by
    degree, and per language its sentences by degree."""
    rng = random.Random(seed)
    pairs: list[dict] = []
    tuples: Counter = Counter()
    sentences: dict[str, Counter] = {}
    for unit in range(units):
        degree = rng.choice([2, 2, 2, 3, 3, 4, 5, 8])
        langs = rng.sample(CODES, degree)
        hub, leaves = langs[0], langs[1:]
        text = {lang: f"unit {unit} sentence in {lang} {rng.random():.12f}" for lang in langs}
        for n, leaf in enumerate(leaves):
            src, tgt = (hub, leaf) if n % 2 else (leaf, hub)  # either side may be the hub
            pairs.append(
                {"id": f"u{unit}-{n}", "src_text": text[src], "tgt_text": text[tgt], "src_lang": src, "tgt_lang": tgt, "score": 0.9}
            )
        if len(leaves) >= 2 and unit % 3 == 0:
            a, b = leaves[:2]
            pairs.append({"id": f"u{unit}-x", "src_text": text[a], "tgt_text": text[b], "src_lang": a, "tgt_lang": b, "score": 0.5})
        tuples[degree] += 1
        for lang in langs:
            sentences.setdefault(lang, Counter())[degree] += 1
    return pairs, tuples, sentences


def test_generated_corpus_degree_statistics_match_the_planted_tuples():
    pairs, tuples, sentences = generated_corpus(3000)
    random.Random(1).shuffle(pairs)
    batches = [bitext(pairs[i : i + 500]) for i in range(0, len(pairs), 500)]
    joined, plan = join_batches(batches, MultiwayJoin(min_degree=3, score_column="score"))
    report = plan.report()
    assert report["tuples_by_degree"] == {str(d): n for d, n in sorted(tuples.items())}
    assert report["sentences_by_degree"] == {lang: {str(d): n for d, n in sorted(c.items())} for lang, c in sorted(sentences.items())}
    for lang, by_degree in sentences.items():
        assert report["multiway_share"][lang] == pytest.approx(sum(n for d, n in by_degree.items() if d >= 3) / sum(by_degree.values()))
    rows = pa.Table.from_batches(joined).to_pylist()
    unit_langs: dict[str, set] = {}
    for p in pairs:
        unit_langs.setdefault(p["id"].split("-")[0], set()).update((p["src_lang"], p["tgt_lang"]))
    by_unit: dict[str, set] = {}
    for row in rows:  # every pair of a unit is in its unit's tuple, of the unit's degree
        unit = row["id"].split("-")[0]
        by_unit.setdefault(unit, set()).add(row["mway_id"])
        assert row["mway_id"] is not None and row["mway_degree"] == len(unit_langs[unit])
    assert all(len(ids) == 1 for ids in by_unit.values())
    assert len({next(iter(ids)) for ids in by_unit.values()}) == len(by_unit)  # one tuple per unit


def test_the_join_does_not_depend_on_input_order_or_batching():
    pairs, _, _ = generated_corpus(600, seed=3)
    for p in pairs:  # many ties and conflicts: scores of few values
        p["score"] = float(hash(p["id"]) % 3) / 2
    noise = random.Random(5)
    for n in range(300):  # pairs that conflict with the planted ones: compete for a language slot
        a, b = noise.sample(range(len(pairs)), 2)
        pairs.append({**pairs[a], "id": f"noise{n}", "tgt_text": pairs[b]["tgt_text"], "tgt_lang": pairs[b]["tgt_lang"], "score": 0.5})

    def result(order: list[dict], size: int) -> list:
        batches = [bitext(order[i : i + size]) for i in range(0, len(order), size)]
        joined, plan = join_batches(batches, MultiwayJoin(score_column="score"))
        table = pa.Table.from_batches(joined)
        return sorted(
            zip(table.column("id").to_pylist(), table.column("mway_id").to_pylist(), table.column("mway_degree").to_pylist())
        ), plan.report()

    first = result(pairs, 97)
    shuffled = list(pairs)
    random.Random(11).shuffle(shuffled)
    assert result(shuffled, 1000) == first
    assert result(list(reversed(pairs)), 13) == first


def test_highest_score_wins_and_tuples_are_never_merged():
    rows = [
        # en "a" pairs with two German sentences: the better pair takes the German slot
        {"id": "p1", "src_text": "a", "tgt_text": "A-de", "src_lang": "eng_Latn", "tgt_lang": "deu_Latn", "score": 0.9},
        {"id": "p2", "src_text": "a", "tgt_text": "A2-de", "src_lang": "eng_Latn", "tgt_lang": "deu_Latn", "score": 0.5},
        {"id": "p3", "src_text": "A-de", "tgt_text": "A-fr", "src_lang": "deu_Latn", "tgt_lang": "fra_Latn", "score": 0.8},
        # a second tuple {b, B-es}; a low-scoring pair between the two tuples must not merge them
        {"id": "q1", "src_text": "b", "tgt_text": "B-es", "src_lang": "eng_Latn", "tgt_lang": "spa_Latn", "score": 0.95},
        {"id": "q2", "src_text": "B-es", "tgt_text": "A-fr", "src_lang": "spa_Latn", "tgt_lang": "fra_Latn", "score": 0.1},
        # normalisation: the same sentence with other case, spacing and punctuation
        {"id": "p4", "src_text": "  A!", "tgt_text": "A-hi", "src_lang": "eng_Latn", "tgt_lang": "hin_Deva", "score": 0.7},
    ]
    joined, plan = join_batches([bitext(rows)], MultiwayJoin(score_column="score", min_degree=3))
    got = {r["id"]: (r["mway_id"], r["mway_degree"]) for r in pa.Table.from_batches(joined).to_pylist()}
    tuple_a = got["p1"][0]
    assert got["p1"] == got["p3"] == got["p4"] == (tuple_a, 4)  # en, de, fr, hi
    assert got["p2"] == (None, 4)  # its German sentence is in no tuple; "a" is in a 4-tuple
    assert got["q1"][1] == 2 and got["q1"][0] not in (None, tuple_a)
    assert got["q2"] == (None, 4)
    exact, _ = join_batches([bitext(rows)], MultiwayJoin(score_column="score", normalise=False))
    assert {r["id"]: r["mway_degree"] for r in pa.Table.from_batches(exact).to_pylist()}["p4"] == 2


def test_scores_from_meta_and_unreadable_scores_rank_last():
    from corpusforge.transforms.multiway import scores

    schema = load_schema("bitext")
    meta = [[{"key": "score", "value": "0.25"}], [{"key": "score", "value": "n/a"}], None]
    batch = pa.RecordBatch.from_pylist(
        [{"id": str(i), "source": "s", "src_text": "x", "tgt_text": "y", "origin": "corpus", "meta": m} for i, m in enumerate(meta)],
        schema=schema,
    )
    got = scores(batch, "score")
    assert got[0] == 0.25 and all(v != v for v in got[1:])  # NaN


def test_bitext_filter_rejects_high_degree_pairs_with_a_reason():
    pairs, _, _ = generated_corpus(200, seed=2)
    joined, _ = join_batches([bitext(pairs)], MultiwayJoin(score_column="score"))
    batch = joined[0]
    scored = batch.append_column("sides_identical", pa.array([False] * batch.num_rows)).append_column(
        "char_ratio", pa.array([1.0] * batch.num_rows, pa.float32())
    )
    scored = scored.append_column("byte_ratio", pa.array([1.0] * batch.num_rows, pa.float32()))
    split = BitextFilter(check_languages=False, check_scripts=False, max_mway_degree=3).process(scored)
    degrees = batch.column("mway_degree").to_pylist()
    assert split.kept.num_rows == sum(d <= 3 for d in degrees) and split.rejected.num_rows == sum(d > 3 for d in degrees) > 0
    assert set(split.rejected.column("reason").to_pylist()) == {"mway_degree"}
    assert "mway_degree" in BitextFilter(max_mway_degree=3).requires
    with pytest.raises(ValueError, match="max_mway_degree"):
        BitextFilter(max_mway_degree=0)


# --- the corpus job -------------------------------------------------------------------------


def write_tsv(path: Path, rows: list[tuple]) -> None:
    """A bitext TSV of (id, src, tgt, score) with a header; ``score`` goes to ``meta``, where the stage reads it."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id\tsrc\ttgt\tscore\n")
        for row in rows:
            f.write("\t".join(map(str, row)) + "\n")


def run_recipe(folder: Path, files: dict[str, tuple[str, str, Path]], output: Path, *options: str, stages=None, overrides=()) -> dict:
    inputs = [
        {
            "name": name,
            "format": "tsv",
            "kind": "bitext",
            "paths": [str(path)],
            "options": {"src_column": "src", "tgt_column": "tgt", "id_column": "id", "src_lang": src, "tgt_lang": tgt},
        }
        for name, (src, tgt, path) in files.items()
    ]
    recipe = {
        "name": "mw",
        "seed": 1,
        "inputs": inputs,
        "stages": stages or [{"multiway": {"min_degree": 3, "score_column": "score"}}],
        "output": {"path": str(output)},
    }
    path = folder / f"recipe-{output.name}.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    loaded = load_recipe(path, list(overrides))
    prepare_output(loaded)
    with beam.Pipeline(options=PipelineOptions(list(options) or ["--runner=DirectRunner"])) as p:
        build(p, loaded)
    return json.loads((output / "_manifest.json").read_text(encoding="utf-8"))


def table_rows(path: Path) -> list[dict]:
    files = sorted(str(f) for f in path.rglob("*.parquet"))
    return sorted(ds.dataset(files, format="parquet").to_table().to_pylist(), key=lambda r: r["id"]) if files else []


def parallel_units(languages: list[str]) -> list[dict[str, str]]:
    """Units of parallel_dev.tsv translated into every one of ``languages``, each sentence unique
    in its language (after the join's normalisation), so that a unit's tuple is planted exactly."""
    with PARALLEL_DEV.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        units = [{lang: row[lang] for lang in languages} for row in reader if all((row.get(lang) or "").strip() for lang in languages)]
    counts = {lang: Counter(normalised(pa.array([u[lang] for u in units])).to_pylist()) for lang in languages}
    return [u for u in units if all(counts[lang][normalised(pa.array([u[lang]]))[0].as_py()] == 1 for lang in languages)]


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.skipif(not PARALLEL_DEV.exists(), reason="../shared/data/parallel_dev.tsv is absent")
def test_recovers_the_planted_tuples_of_multi_parallel_text(tmp_path):
    """parallel_dev.tsv cut into five bitext files: English with four languages (a star: each unit
    in a planted subset of them) and German-French for units in both; the same English sentence
    is in several files under different ids. Portuguese-Russian pairs of other units are 2-tuples."""
    units = parallel_units(["en", "de", "fr", "es", "hi", "pt", "ru"])
    assert len(units) > 100
    leaves = ["de", "fr", "es", "hi"]
    files: dict[str, list] = {f"en_{x}": [] for x in leaves} | {"de_fr": [], "pt_ru": []}
    planted: dict[int, set[str]] = {}
    for k, unit in enumerate(units):
        chosen = [x for n, x in enumerate(leaves) if (k >> n) & 1]
        for x in chosen:
            files[f"en_{x}"].append((f"{x}-{k}", unit["en"], unit[x]))
        if {"de", "fr"} <= set(chosen) and k % 2:
            files["de_fr"].append((f"df-{k}", unit["de"], unit["fr"]))
        if chosen:
            planted[k] = {"en", *chosen}
        if k % 3 == 0:
            files["pt_ru"].append((f"pr-{k}", unit["pt"], unit["ru"]))
    spec = {}
    for name, rows in files.items():
        path = tmp_path / f"{name}.tsv"
        write_tsv(path, [(*row, 0.5 if name == "de_fr" else 0.9) for row in rows])  # the redundant pairs after the star's
        src, tgt = name.split("_")
        spec[name] = (src, tgt, path)
    output = tmp_path / "out"
    manifest = run_recipe(tmp_path, spec, output)
    assert manifest["balanced"]
    bitext_rows = table_rows(output / "bitext")
    assert len(bitext_rows) == sum(len(rows) for rows in files.values())
    expected = {frozenset(canonical(lang) for lang in langs) for langs in planted.values() if len(langs) >= 3}
    tuples = table_rows(output / "multiway")
    assert len(tuples) == sum(len(langs) >= 3 for langs in planted.values())
    assert {frozenset(t["langs"]) for t in tuples} <= expected
    for t in tuples:  # exactly the records of one unit, and all of them
        units_of = {rid.split("-")[1] for rid in t["record_ids"]}
        assert len(units_of) == 1
        k = int(units_of.pop())
        assert t["mway_degree"] == len(planted[k]) == len(t["langs"])
        assert set(t["record_ids"]) == {row[0] for rows in files.values() for row in rows if row[0].split("-")[1] == str(k)} - {f"pr-{k}"}
    for row in bitext_rows:
        k = int(row["id"].split("-")[1])
        assert row["mway_degree"] == (2 if row["id"].startswith("pr-") else len(planted[k]))
    report = manifest["multiway"]
    assert sum(report["tuples_by_degree"].values()) == len(planted) + len(files["pt_ru"])
    assert manifest["outputs"]["multiway"]["rows"] == len(tuples)


@pytest.mark.slow
def test_corpus_job_writes_tuples_filters_by_degree_and_agrees_across_runners(tmp_path):
    pairs, tuples, _ = generated_corpus(300, seed=9)
    by_file: dict[tuple[str, str], list] = {}
    for p in pairs:
        by_file.setdefault((p["src_lang"], p["tgt_lang"]), []).append((p["id"], p["src_text"], p["tgt_text"], p["score"]))
    spec = {}
    for (src, tgt), rows in by_file.items():
        path = tmp_path / f"{src}-{tgt}.tsv"
        write_tsv(path, rows)
        spec[f"{src}_{tgt}".lower()] = (src, tgt, path)
    stages = [
        {"bitext_score": {}},
        {"multiway": {"min_degree": 3, "score_column": "score"}},
        {
            "bitext_filter": {
                "check_languages": False,
                "check_scripts": False,
                "min_char_ratio": None,
                "max_char_ratio": None,
                "max_mway_degree": 4,
            }
        },
    ]
    direct = run_recipe(tmp_path, spec, tmp_path / "direct", stages=stages)
    multi = run_recipe(
        tmp_path,
        spec,
        tmp_path / "multi",
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        stages=stages,
        overrides=["rebalance=true"],
    )
    portable = run_recipe(
        tmp_path,
        spec,
        tmp_path / "portable",
        "--runner=PortableRunner",
        "--job_endpoint=embed",
        "--environment_type=LOOPBACK",
        stages=stages,
    )
    for manifest in (direct, multi, portable):
        assert manifest["balanced"]
        assert manifest["multiway"]["tuples_by_degree"] == {str(d): n for d, n in sorted(tuples.items())}
    written = table_rows(tmp_path / "direct" / "bitext")
    rejected = table_rows(tmp_path / "direct" / "rejected")
    assert written and all(r["mway_degree"] <= 4 for r in written)
    assert rejected and {r["reason"] for r in rejected} == {"mway_degree"}
    assert len(written) + len(rejected) == len(pairs)
    tuple_rows = table_rows(tmp_path / "direct" / "multiway")
    assert len(tuple_rows) == sum(n for d, n in tuples.items() if d >= 3)
    for out in ("multi", "portable"):  # the same rows on every runner
        for folder in ("bitext", "multiway", "rejected"):
            assert table_rows(tmp_path / out / folder) == table_rows(tmp_path / "direct" / folder)


def test_pair_tables_merged_in_any_order_give_the_same_join():
    """What a runner does with the combiner: tables of parts of the corpus, merged in any order."""
    from corpusforge.multiway import PairTable, join_pairs
    from corpusforge.transforms.multiway import PairStats

    pairs, _, _ = generated_corpus(400, seed=4)
    parts = [bitext(pairs[i : i + 3]) for i in range(0, len(pairs), 3)]  # > 256 chunks: compacted on the way

    def table(order: list[int]) -> PairTable:
        stats = [PairStats(score_column="score") for _ in range(4)]
        for n, i in enumerate(order):
            stats[n % 4].add_batch(parts[i])
        merged = stats[3].merge(stats[1]).merge(stats[0].merge(stats[2]))
        return merged.table

    forward = join_pairs(table(list(range(len(parts)))))
    order = list(range(len(parts)))
    random.Random(2).shuffle(order)
    backward = join_pairs(table(order))
    assert forward.tuples_by_degree() == backward.tuples_by_degree() and forward.sentence_degrees == backward.sentence_degrees
    assert forward.tuple_ids() == backward.tuple_ids() and (forward.nodes == backward.nodes).all()


def test_a_recipe_filtering_on_degree_needs_the_multiway_stage_first(tmp_path):
    from corpusforge.config import ConfigError, recipe_from_dict

    def recipe(stages):
        data = {
            "name": "r",
            "inputs": [
                {"name": "a", "format": "tsv", "kind": "bitext", "paths": ["x.tsv"], "options": {"src_column": "s", "tgt_column": "t"}}
            ],
            "stages": stages,
            "output": {"path": str(tmp_path / "out")},
        }
        return recipe_from_dict(data, base_dir=str(tmp_path), check_files=False)

    filter_ = {"bitext_filter": {"check_languages": False, "check_scripts": False, "max_mway_degree": 3}}
    with pytest.raises(ConfigError, match="mway_degree"):
        recipe([{"bitext_score": {}}, filter_])
    stages = recipe([{"bitext_score": {}}, {"multiway": {"min_degree": 3}}, filter_]).stages
    assert stages[1].min_degree == 3 and stages[2].max_mway_degree == 3
    with pytest.raises(ConfigError, match="min_degree"):
        recipe([{"multiway": {"min_degree": 1}}])
