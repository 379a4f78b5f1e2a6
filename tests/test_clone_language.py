"""Cloned languages (Schäfer et al. 2024) with a real, tiny sentencepiece model: shifting back
recovers the original ids, the cloned share meets p_clone, anchors are never shifted, every
choice is seeded, and the job writes the same shards on every runner."""

from __future__ import annotations

import json
import random
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.clone import LanguageCloner, mask_from_hex, unclone
from corpusforge.mt.testing import train_sentencepiece
from corpusforge.pipelines.clone_language import build, load_config
from corpusforge.schemas import load_schema
from corpusforge.transforms.clone import CloneSequences

WORDS = (
    "the river runs past a quiet town where people sell bread fish and apples every morning while "
    "children walk to school and old friends talk about weather music books and the long winter"
).split()


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(3, 14))) for _ in range(n)]


@pytest.fixture(scope="module")
def spm(tmp_path_factory) -> Path:
    return train_sentencepiece(sentences(2000), tmp_path_factory.mktemp("spm") / "tiny.model", vocab_size=120)


def test_shifting_back_recovers_the_original_ids(spm):
    cloner = LanguageCloner(model=spm, p_clone=0.5, frac_clone=0.6, seed=3)
    texts = sentences(500, seed=1)
    original = cloner.encode(texts)
    _, clone = cloner.decide([f"r{i}" for i in range(len(texts))])
    ids = cloner.clone(original, clone).to_pylist()
    assert clone.any() and not clone.all()
    assert any(max(seq) >= cloner.vocab_size for seq in ids)  # something was shifted
    for seq, orig in zip(ids, original):
        assert unclone(seq, cloner.vocab_size).tolist() == orig


def test_cloned_share_is_within_half_a_point_of_p_clone_on_100k_sequences(spm):
    ids = [f"doc-{i}" for i in range(100_000)]
    for p in (0.1, 0.5):
        _, clone = LanguageCloner(model=spm, p_clone=p, seed=13).decide(ids)
        assert abs(clone.mean() - p) < 0.005
    step, clone = LanguageCloner(model=spm, p_clone=[0.5, 0.3, 0.1], seed=13).decide(ids)
    assert set(step.tolist()) == {0, 1, 2}
    for k, p in enumerate([0.5, 0.3, 0.1]):  # ~33k sequences per step
        assert abs(clone[step == k].mean() - p) < 0.01
        assert abs((step == k).mean() - 1 / 3) < 0.01


def test_anchor_pieces_are_never_shifted(spm):
    cloner = LanguageCloner(model=spm, p_clone=1.0, frac_clone=0.5, seed=5)
    mask, size = cloner.cloned_mask, cloner.vocab_size
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm))
    ordinary = [i for i in range(size) if not (sp.is_control(i) or sp.is_unknown(i))]
    assert mask.sum() == round(0.5 * len(ordinary)) and not any(mask[i] for i in range(size) if i not in ordinary)
    texts = sentences(300, seed=2)
    original = cloner.encode(texts)
    ids = cloner.clone(original, np.ones(len(texts), bool)).to_pylist()
    anchors_seen = shifted_seen = 0
    for seq, orig in zip(ids, original):
        for new, old in zip(seq, orig):
            if mask[old]:
                assert new == old + size
                shifted_seen += 1
            else:
                assert new == old
                anchors_seen += 1
    assert anchors_seen and shifted_seen
    not_cloned = cloner.clone(original, np.zeros(len(texts), bool)).to_pylist()
    assert not_cloned == original


def test_choices_are_seeded_and_reproducible(spm):
    a, b, c = (LanguageCloner(model=spm, frac_clone=0.5, seed=s) for s in (1, 1, 2))
    assert a.cloned_pieces() == b.cloned_pieces() != c.cloned_pieces()
    assert (mask_from_hex(a.cloned_mask_hex(), a.vocab_size) == a.cloned_mask).all()
    ids = [f"x{i}" for i in range(2000)]
    assert (a.decide(ids)[1] == b.decide(ids)[1]).all() and not (a.decide(ids)[1] == c.decide(ids)[1]).all()
    assert (a.decide(ids[::-1])[1] == a.decide(ids)[1][::-1]).all()  # a sequence's choice is its own, not its position's
    rows = a.vocabulary_rows()
    assert [r[0] for r in rows] == list(range(2 * a.vocab_size))
    assert [r[3] for r in rows[a.vocab_size :]] == a.cloned_mask.tolist()


def test_text_without_tokens_is_rejected_with_a_reason(spm):
    schema = load_schema("segment")
    rows = [{"id": "a", "source": "s", "text": "the river"}, {"id": "b", "source": "s", "text": ""}]
    batch = pa.RecordBatch.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)
    split = CloneSequences(model=str(spm)).process(batch)
    assert split.kept.column("id").to_pylist() == ["a"] and split.kept.schema == load_schema("cloned")
    assert split.rejected.column("reason").to_pylist() == ["no_tokens"]


# --- the job ----------------------------------------------------------------------------------


def run_job(tmp_path: Path, spm: Path, name: str, *options: str) -> dict:
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        json.dumps(
            {
                "name": "clone-test",
                "seed": 13,
                "inputs": [
                    {"name": "news", "format": "jsonl", "paths": ["data/*.jsonl"], "options": {"lang": "eng_Latn", "id_field": "id"}}
                ],
                "model": str(spm),
                "p_clone": [0.5, 0.1],
                "frac_clone": 0.7,
                "output": f"out-{name}",
            }
        ),
        encoding="utf-8",
    )
    cfg = load_config(str(config))
    with beam.Pipeline(options=PipelineOptions(list(options) or ["--runner=DirectRunner"])) as p:
        build(p, cfg)
    return json.loads((tmp_path / f"out-{name}" / "_manifest.json").read_text(encoding="utf-8"))


def table(path: Path) -> list[dict]:
    files = sorted(str(f) for f in path.rglob("*.parquet"))
    return sorted(ds.dataset(files, format="parquet").to_table().to_pylist(), key=lambda r: r["id"]) if files else []


@pytest.mark.slow
def test_job_writes_cloned_shards_vocabulary_and_the_same_bytes_on_every_runner(tmp_path, spm):
    data = tmp_path / "data"
    data.mkdir()
    texts = sentences(600, seed=4)
    with (data / "a.jsonl").open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": f"n{i}", "text": text}) + "\n")
        f.write('{"id": "bad", "text": ""}\n{not json\n')
    direct = run_job(tmp_path, spm, "direct")
    multi = run_job(tmp_path, spm, "multi", "--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    portable = run_job(tmp_path, spm, "portable", "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK")
    assert direct["balanced"] and direct["totals"]["read"] == len(texts) + 2 and direct["totals"]["rejected"] == 2

    def shard_bytes(out: Path) -> dict:
        return {str(f.relative_to(out)): f.read_bytes() for f in sorted(out.rglob("*.parquet"))}

    out = tmp_path / "out-direct"
    assert shard_bytes(out) == shard_bytes(tmp_path / "out-multi") == shard_bytes(tmp_path / "out-portable")
    assert (out / "vocab.tsv").read_bytes() == (tmp_path / "out-multi" / "vocab.tsv").read_bytes()
    assert {p.name for p in (out / "cloned").iterdir()} == {"step-0000", "step-0001"}
    for manifest in (multi, portable):
        assert manifest["clone"] == direct["clone"] and manifest["clone_steps"] == direct["clone_steps"]

    cloner = LanguageCloner(model=spm, p_clone=[0.5, 0.1], frac_clone=0.7, seed=13)
    assert direct["clone"]["cloned_piece_ids"] == cloner.cloned_pieces()
    shard = next((out / "cloned").rglob("*.parquet"))
    recorded = json.loads(pq.read_schema(shard).metadata[b"corpusforge.stages"])[0]  # the choice, in every shard
    assert (mask_from_hex(recorded["cloned_mask"], cloner.vocab_size) == cloner.cloned_mask).all()
    assert recorded["seed"] == 13 and recorded["frac_clone"] == 0.7
    rows = table(out / "cloned")
    assert len(rows) == len(texts)
    by_id = dict(zip((f"n{i}" for i in range(len(texts))), texts))
    for row in rows:
        assert row["source_id"] == row["id"] and row["source"] == "news"
        assert unclone(row["ids"], cloner.vocab_size).tolist() == cloner.encode([by_id[row["id"]]])[0]
        if not row["clone"]:
            assert max(row["ids"]) < cloner.vocab_size
    steps = direct["clone_steps"]
    assert steps["step-0000"]["cloned_share"] > steps["step-0001"]["cloned_share"]
    vocab = (out / "vocab.tsv").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 1 + 2 * cloner.vocab_size and vocab[0] == "id\tpiece\toriginal_id\tcloned"
