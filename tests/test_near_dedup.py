"""Near-duplicate removal: signatures estimate Jaccard similarity, clusters do not depend on
input order, batching or workers, the survivor is the smallest id, and every removed row is
counted and listed with its survivor."""

from __future__ import annotations

import json
import random
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusforge.beam.near_dedup import DeduplicateNear
from corpusforge.beam.stages import SumTallies
from corpusforge.config import ConfigError, recipe_from_dict
from corpusforge.dedup import LshBands, MinHasher, NearDeduplicator, NearDedupParams, UnionFind, shingles, similarity
from corpusforge.dedup.near import ALL_PAIRS_UP_TO, candidate_pairs, link_pairs
from corpusforge.progress import PROGRESS_DIR_ENV
from corpusforge.schemas import load_schema
from corpusforge.words import words

SEGMENT = load_schema("segment")
BITEXT = load_schema("bitext")
BASE = "the committee met on tuesday to discuss the new budget for schools and hospitals in the northern districts of the region"
HINDI = "समिति ने मंगलवार को क्षेत्र के उत्तरी जिलों में स्कूलों और अस्पतालों के लिए नए बजट पर चर्चा करने के लिए बैठक की"
CHINESE = "委员会星期二开会讨论该地区北部各区学校和医院的新预算问题并决定下个月再次召开会议"


def edited(text: str, n: int, seed: int) -> str:
    """``text`` with ``n`` words replaced."""
    tokens = text.split()
    rng = random.Random(seed)
    for i in rng.sample(range(len(tokens)), n):
        tokens[i] = f"w{rng.randint(0, 10**6)}"
    return " ".join(tokens)


def jaccard(a: str, b: str, ngram: int) -> float:
    x, y = set(shingles(words(a), ngram)), set(shingles(words(b), ngram))
    return len(x & y) / len(x | y)


def segment_batch(rows: list[tuple[str, str, str, str | None]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [{"id": i, "source": s, "text": t, "lang": lang, "doc_id": None, "meta": None} for i, s, t, lang in rows], schema=SEGMENT
    )


def test_words_split_unspaced_scripts_into_characters_and_keep_indic_words_whole():
    assert words(HINDI)[:2] == ["समिति", "ने"]  # vowel signs stay inside the word
    assert words("東京は日本") == ["東", "京", "は", "日", "本"]
    assert words("ภาษา Thai, 2024!") == ["ภ", "า", "ษ", "า", "thai", "2024"]


def test_shingles_of_short_texts_are_the_whole_text():
    assert shingles(["a", "b"], 3) == ["a b"]
    assert shingles([], 3) == []
    assert shingles(["a", "b", "c", "a", "b", "c"], 3) == ["a b c", "b c a", "c a b"]


@pytest.mark.parametrize("method", ["rensa", "numpy"])
def test_signature_agreement_estimates_jaccard(method):
    hasher = MinHasher(num_perm=256, ngram=2, method=method)
    pairs = [(BASE, edited(BASE, n, n)) for n in (1, 3, 6)] + [
        (HINDI, edited(HINDI, 2, 9)),
        (CHINESE, CHINESE[:30] + "另外" + CHINESE[30:]),
    ]
    for a, b in pairs:
        sig = hasher.signatures([a, b])
        true = jaccard(a, b, 2)
        assert abs(similarity(sig[0], sig[1]) - true) < 4 * np.sqrt(true * (1 - true) / 256) + 0.02, (a, b)
    again = MinHasher(num_perm=256, ngram=2, method=method).signatures([BASE])
    assert np.array_equal(again[0], hasher.signatures([BASE])[0])  # deterministic for a seed
    assert not np.array_equal(MinHasher(num_perm=256, ngram=2, method=method, seed=2).signatures([BASE])[0], again[0])


def test_band_curve_and_keys():
    lsh = LshBands(bands=25, rows=5)
    assert lsh.candidate_probability(0.8) > 0.999 > lsh.candidate_probability(0.5) > lsh.candidate_probability(0.3)
    sig = np.arange(125, dtype=np.uint32).reshape(1, 125)
    other = sig.copy()
    other[0, 7] = 999  # band 1 differs, the others are equal
    keys = lsh.keys(np.vstack([sig, other]))
    assert (keys[0] == keys[1]).tolist() == [band != 1 for band in range(25)]
    with pytest.raises(ValueError, match="need 125"):
        lsh.keys(np.zeros((1, 64), np.uint32))


def test_union_find_components_do_not_depend_on_pair_order():
    pairs = [(("c", "s"), ("d", "s")), (("b", "s"), ("c", "s")), (("x", "s"), ("y", "s")), (("e", "s"), ("d", "s"))]
    results = set()
    for seed in range(6):
        shuffled = pairs[:]
        random.Random(seed).shuffle(shuffled)
        forest = UnionFind()
        for a, b in shuffled:
            forest.union(*(b, a) if seed % 2 else (a, b))
        results.add(tuple(sorted(forest.components().items())))
    (components,) = results
    assert dict(components)[("e", "s")] == (("b", "s"), 4) and dict(components)[("y", "s")] == (("x", "s"), 2)


def test_candidates_are_every_pair_of_small_buckets_and_a_star_of_large_ones():
    small = [(str(i), "s") for i in range(3)]
    assert candidate_pairs(small[::-1]) == [(small[0], small[1]), (small[0], small[2]), (small[1], small[2])]
    large = [(f"{i:02d}", "s") for i in range(ALL_PAIRS_UP_TO + 2)]
    random.Random(1).shuffle(large)
    assert candidate_pairs(large) == [(("00", "s"), (f"{i:02d}", "s")) for i in range(1, ALL_PAIRS_UP_TO + 2)]


def test_candidate_pairs_below_the_threshold_are_not_linked():
    base = np.arange(10, dtype=np.uint32)
    near, far = base.copy(), base.copy()
    near[0] = 99  # 0.9 similar
    far[:5] = 99  # 0.5 similar
    signatures = {("a", "s"): base, ("b", "s"): near, ("c", "s"): far}
    forest = UnionFind()
    link_pairs(candidate_pairs(signatures), signatures, 0.8, forest)
    assert forest.components() == {("a", "s"): (("a", "s"), 2), ("b", "s"): (("a", "s"), 2)}  # c is in no cluster


def near_rows():
    return [
        ("07", "a", BASE, "eng_Latn"),
        ("03", "b", edited(BASE, 1, 1), "eng_Latn"),  # near-duplicate of 07 (Jaccard ~0.85 on 3-grams)
        ("05", "a", edited(BASE, 1, 2), "eng_Latn"),
        ("04", "a", edited(BASE, 1, 1), "fra_Latn"),  # the same text in another language: lang scope keeps it
        ("01", "c", HINDI, "hin_Deva"),
        ("09", "c", edited(HINDI, 1, 4), "hin_Deva"),
        ("02", "c", CHINESE, "zho_Hans"),
        ("08", "a", CHINESE.replace("学校", "大学"), "zho_Hans"),
        ("06", "b", "an unrelated sentence about the weather in spring", "eng_Latn"),
    ]


PARAMS = NearDedupParams(ngram=3, threshold=0.7)


def in_memory(batches, params=PARAMS, kind="segment"):
    dedup = NearDeduplicator(params, kind)
    for batch in batches:
        dedup.add(batch)
    return dedup.result()


def test_clusters_keep_the_smallest_id_and_list_the_others_with_their_survivor():
    kept, rejected, tally = in_memory([segment_batch(near_rows())])
    kept_rows = {r["id"]: r for b in kept for r in b.to_pylist()}
    assert sorted(kept_rows) == ["01", "02", "03", "04", "06"]
    assert kept_rows["03"]["dup_cluster_size"] == 3 and kept_rows["01"]["dup_cluster_size"] == 2
    assert kept_rows["06"]["dup_cluster_size"] == kept_rows["04"]["dup_cluster_size"] == 1
    listed = {r["id"]: r for r in rejected.to_pylist()}
    assert sorted(listed) == ["05", "07", "08", "09"]
    assert {r["reason"] for r in listed.values()} == {"near_duplicate"} and {r["stage"] for r in listed.values()} == {"near_dedup"}
    detail = json.loads(listed["07"]["detail"])
    assert detail["survivor"] == "03" and detail["survivor_source"] == "b" and detail["cluster_size"] == 3
    assert abs(detail["similarity"] - jaccard(BASE, edited(BASE, 1, 1), 3)) < 0.15
    assert tally.total("duplicate") == 4 == tally.total("duplicate_stored")
    assert tally.total("duplicate", source="a") == 3


def test_global_scope_compares_across_languages():
    kept, _, _ = in_memory([segment_batch(near_rows())], NearDedupParams(ngram=3, threshold=0.7, scope="global"))
    assert "04" not in {r["id"] for b in kept for r in b.to_pylist()}


def test_result_does_not_depend_on_order_or_batching():
    rows = near_rows()
    results = set()
    for seed in range(4):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        cut = 1 + seed
        kept, rejected, tally = in_memory([segment_batch(shuffled[:cut]), segment_batch(shuffled[cut:])])
        results.add(
            (
                tuple(sorted((r["id"], r["dup_cluster_size"]) for b in kept for r in b.to_pylist())),
                tuple(sorted((r["id"], r["detail"]) for r in rejected.to_pylist())),
                tuple(sorted(tally.counts.items())),
            )
        )
    assert len(results) == 1


def pair_batch(rows):
    return pa.RecordBatch.from_pylist(
        [{"id": i, "source": "x", "src_text": a, "tgt_text": b, "src_lang": "eng_Latn", "tgt_lang": "hin_Deva"} for i, a, b in rows],
        schema=BITEXT,
    )


def test_bitext_pairs_are_near_duplicates_only_when_both_sides_are():
    rows = [
        ("p1", BASE, HINDI),
        ("p2", edited(BASE, 1, 1), edited(HINDI, 1, 3)),  # both sides near: removed
        ("p3", BASE, "पूरी तरह से अलग अनुवाद जो किसी और विषय के बारे में है और बहुत लंबा भी है"),  # same source, other target
    ]
    kept, rejected, _ = in_memory([pair_batch(rows)], kind="bitext")
    assert sorted(r["id"] for b in kept for r in b.to_pylist()) == ["p1", "p3"]
    assert [r["id"] for r in rejected.to_pylist()] == ["p2"]
    kept, _, _ = in_memory([pair_batch(rows)], NearDedupParams(ngram=3, threshold=0.7, bitext="src"), kind="bitext")
    assert sorted(r["id"] for b in kept for r in b.to_pylist()) == ["p1"]  # the source side alone


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="must not exceed num_perm"):
        NearDedupParams(num_perm=64, bands=25, rows=5)
    base = {"name": "t", "inputs": [{"name": "a", "format": "text", "paths": ["x.txt"]}], "output": {"path": "/tmp/x"}}
    with pytest.raises(ConfigError, match="near_dedup"):
        recipe_from_dict({**base, "near_dedup": {"bands": 40}}, base_dir=".", check_files=False)
    with pytest.raises(ConfigError, match="near_dedup.treshold"):
        recipe_from_dict({**base, "near_dedup": {"treshold": 0.8}}, base_dir=".", check_files=False)


@pytest.mark.slow
def test_beam_matches_in_memory_whatever_the_order():
    rows = near_rows()
    kept, rejected, tally = in_memory([segment_batch(rows)])
    expected_kept = sorted((r["id"], r["dup_cluster_size"]) for b in kept for r in b.to_pylist())
    expected_rejected = sorted((r["id"], r["detail"]) for r in rejected.to_pylist())
    shuffled = rows[::-1]
    batches = [segment_batch(shuffled[:4]), segment_batch(shuffled[4:])]
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        out = p | beam.Create(batches) | DeduplicateNear(PARAMS, "segment")
        assert_that(out.unique | beam.FlatMap(lambda b: [(r["id"], r["dup_cluster_size"]) for r in b.to_pylist()]), equal_to(expected_kept))
        assert_that(
            out.rejected | beam.FlatMap(lambda b: [(r["id"], r["detail"]) for r in b.to_pylist()]), equal_to(expected_rejected), label="Rej"
        )
        assert_that(out.counts | SumTallies(), equal_to([tally]), label="Counts")


def generated_rows(n_bases: int, seed: int) -> list[tuple[str, str, str, str | None]]:
    """Random sentences, each with 0-3 copies edited by one word (Jaccard ~0.8 to their base
    at ngram 3), shuffled."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(400)]
    rows = []
    for b in range(n_bases):
        base = " ".join(rng.choice(vocabulary) for _ in range(30))
        rows.append((f"{b:03d}-0", "s", base, "eng_Latn"))
        rows.extend((f"{b:03d}-{c}", "t", edited(base, 1, 1000 * b + c), "eng_Latn") for c in range(1, rng.randint(1, 4)))
    rng.shuffle(rows)
    return rows


@pytest.mark.slow
def test_beam_matches_in_memory_on_many_batches_and_partitions():
    rows = generated_rows(40, 3)
    kept, rejected, tally = in_memory([segment_batch(rows)])
    assert rejected.num_rows == sum(1 for row_id, *_ in rows if not row_id.endswith("-0")) > 20  # every copy, no base
    expected_kept = sorted((r["id"], r["dup_cluster_size"]) for b in kept for r in b.to_pylist())
    batches = [segment_batch(rows[i : i + 7]) for i in range(0, len(rows), 7)]
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        out = p | beam.Create(batches) | DeduplicateNear(PARAMS, "segment", partitions=3)
        assert_that(out.unique | beam.FlatMap(lambda b: [(r["id"], r["dup_cluster_size"]) for r in b.to_pylist()]), equal_to(expected_kept))
        assert_that(out.counts | SumTallies(), equal_to([tally]), label="Counts")


def write_inputs(folder: Path) -> list[Path]:
    """Six files; every file holds a near-duplicate (case, punctuation and one word added) of a
    line of every other file."""
    files = []
    suffixes = ["today", "again", "now", "too", "indeed", "though"]
    for f in range(6):
        lines = [f"{BASE.capitalize()}, {suffixes[f]}.", f"{HINDI} {suffixes[f]}।", f"a line of file {f} that is like no other line at all"]
        path = folder / f"part{f}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def run_corpus(folder: Path, output: Path, board: Path, monkeypatch) -> dict:
    from corpusforge.pipelines.corpus import build, prepare_output

    recipe = recipe_from_dict(
        {
            "name": "near",
            "inputs": [{"name": "web", "format": "text", "paths": [str(folder / "part*.txt")], "options": {"lang": "en"}}],
            "near_dedup": {"ngram": 3, "threshold": 0.7, "scope": "global"},
            "output": {"path": str(output), "shard_count": 1},
        },
        base_dir=str(folder),
    )
    prepare_output(recipe)
    board.mkdir()
    monkeypatch.setenv(PROGRESS_DIR_ENV, str(board))  # worker processes report the files they read
    options = ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    with beam.Pipeline(options=PipelineOptions(options)) as p:
        build(p, recipe)
    return json.loads((output / "_manifest.json").read_text(encoding="utf-8"))


def readers(board: Path) -> dict[str, set[str]]:
    """Input file name -> the worker processes that read it (from their progress boards)."""
    found: dict[str, set[str]] = {}
    for state_file in board.glob("*.json"):
        for path in json.loads(state_file.read_text())["files"]:
            found.setdefault(Path(path).name, set()).add(state_file.stem)
    return found


@pytest.mark.slow
def test_near_duplicates_read_by_different_workers_meet_in_one_cluster(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    write_inputs(folder)
    outcomes = []
    for run in range(2):
        manifest = run_corpus(folder, tmp_path / f"out{run}", tmp_path / f"board{run}", monkeypatch)
        assert manifest["balanced"]
        workers = readers(tmp_path / f"board{run}")
        assert len(workers) == 6 and len(set().union(*workers.values())) == 2  # the files were read by two processes
        kept = ds.dataset(str(tmp_path / f"out{run}" / "segment")).to_table().to_pylist()
        rejected = ds.dataset(str(tmp_path / f"out{run}" / "rejected")).to_table().to_pylist()
        assert manifest["totals"]["duplicates"] == len(rejected) == 10  # 2 clusters of 6, one survivor each
        sizes = sorted(r["dup_cluster_size"] for r in kept)
        assert sizes == [1] * 6 + [6, 6]
        survivors = {json.loads(r["detail"])["survivor"] for r in rejected}
        assert survivors == {r["id"] for r in kept if r["dup_cluster_size"] == 6}
        assert all(min(r["id"] for r in rejected if json.loads(r["detail"])["survivor"] == s) > s for s in survivors)
        outcomes.append((sorted((r["id"], r["dup_cluster_size"]) for r in kept), sorted((r["id"], r["detail"]) for r in rejected)))
    assert outcomes[0] == outcomes[1]
