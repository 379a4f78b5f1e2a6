"""Output directories: ``output.overwrite`` clears only what a corpusforge run wrote, anything
inside a directory makes it non-empty, and bad output or input paths are ConfigErrors before
the run, not tracebacks in the middle of it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support import write_recipe

from corpusforge.beam.outputs import BeamStore
from corpusforge.cli import main
from corpusforge.config import ConfigError, load_recipe
from corpusforge.outputs import CORPUS_LAYOUT, LOCK_NAME, LocalStore, OutputDirectory
from corpusforge.pipelines import codeswitch_variants
from corpusforge.pipelines.corpus import prepare_output
from corpusforge.pipelines.tokenizer_parity import config_from_dict
from corpusforge.pipelines.tokenizer_parity import output_directory as parity_output

DEMO_OUTPUT_ENTRIES = ("_manifest.json", "segment", "bitext", "codeswitch", "rejected")


def prepare(recipe_path: Path) -> None:
    prepare_output(load_recipe(recipe_path))


def files_under(path: Path) -> list[str]:
    """Files below ``path``, but the run lock that ``prepare`` takes (the run it prepares holds it)."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() and p.name != LOCK_NAME)


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory) -> Path:
    """A real output of the demo recipe (copied by the tests that change it)."""
    output = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--output", str(output)]) == 0
    assert set(DEMO_OUTPUT_ENTRIES) <= {p.name for p in output.iterdir()}
    return output


def copy_of(demo_output: Path, target: Path) -> Path:
    shutil.copytree(demo_output, target)
    return target


# -- overwrite refuses what corpusforge did not write --------------------------------------------
def prepare_parity(job) -> None:
    parity_output(job).prepare(LocalStore(), overwrite=job.spec.output.overwrite)


def test_overwrite_refuses_a_directory_with_an_unrelated_file(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "thesis.tex").write_text("years of work", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"thesis\.tex, which corpusforge did not write"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert (output / "thesis.tex").read_text(encoding="utf-8") == "years of work"


def test_overwrite_refuses_an_unrelated_file_deep_in_a_subfolder(tmp_path):
    output = tmp_path / "out"
    (output / "notes" / "2026").mkdir(parents=True)
    (output / "notes" / "2026" / "plan.md").write_text("keep", encoding="utf-8")
    with pytest.raises(ConfigError, match="did not write"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert (output / "notes" / "2026" / "plan.md").exists()


@pytest.mark.parametrize("special", ["cwd", "home"])
def test_overwrite_never_clears_the_working_or_home_directory(tmp_path, monkeypatch, demo_output, special):
    # even when all it holds is an earlier corpusforge output
    place = copy_of(demo_output, tmp_path / "place")
    if special == "cwd":
        monkeypatch.chdir(place)
        output = Path(".")
    else:
        monkeypatch.setenv("HOME", str(place))
        output = place
    before = files_under(place)
    with pytest.raises(ConfigError, match="working directory" if special == "cwd" else "home directory"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert files_under(place) == before


def test_overwrite_never_clears_a_folder_above_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "top" / "work").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "top" / "work")
    with pytest.raises(ConfigError, match="working directory"):
        prepare(write_recipe(tmp_path / "project", tmp_path / "top", overwrite=True))
    assert (tmp_path / "top" / "work").is_dir()


def test_overwrite_refuses_the_folder_of_the_recipe(tmp_path):
    project = tmp_path / "project"
    recipe = write_recipe(project, project, overwrite=True, data=tmp_path / "data" / "a.txt")
    with pytest.raises(ConfigError, match=r"contains .*recipe\.yaml"):
        prepare(recipe)
    assert recipe.exists()


def test_overwrite_refuses_a_folder_holding_an_input(tmp_path):
    data = tmp_path / "corpora" / "a.txt"
    recipe = write_recipe(tmp_path / "project", tmp_path / "corpora", overwrite=True, data=data)
    with pytest.raises(ConfigError, match=r"contains .*corpora.*an input"):
        prepare(recipe)
    assert data.exists()


def test_an_input_inside_the_output_is_refused_even_when_it_is_an_earlier_output(tmp_path, demo_output):
    output = copy_of(demo_output, tmp_path / "out")
    shard = next(output.glob("segment/part-*.parquet"))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        json.dumps(
            {
                "name": "again",
                "inputs": [{"name": "old", "format": "parquet", "paths": [str(output / "segment" / "*.parquet")]}],
                "output": {"path": str(output), "overwrite": True},
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="an input"):
        prepare(recipe)
    assert shard.exists()


# -- overwrite replaces an earlier corpusforge output, and only its files -------------------------
def test_overwrite_replaces_an_earlier_output_and_keeps_files_it_did_not_write(tmp_path, demo_output):
    output = copy_of(demo_output, tmp_path / "out")
    (output / "README.md").write_text("my notes on this corpus", encoding="utf-8")
    (output / "segment" / "mine.txt").write_text("keep", encoding="utf-8")
    stale = output / "segment" / "part-00007-of-00009.parquet"  # an older run's shard: ours, so it goes
    stale.write_bytes(b"PAR1")
    prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert files_under(output) == ["README.md", "segment/mine.txt"]
    assert not (output / "bitext").exists() and not (output / "rejected").exists()


def test_rerunning_the_same_recipe_with_overwrite_succeeds(tmp_path):
    output = tmp_path / "out"
    recipe = write_recipe(tmp_path / "project", output, overwrite=True)
    assert main(["run", str(recipe)]) == 0
    (output / "README.md").write_text("mine", encoding="utf-8")
    assert main(["run", str(recipe)]) == 0
    manifest = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["balanced"] and manifest["totals"]["read"] == 2
    assert (output / "README.md").read_text(encoding="utf-8") == "mine"


def test_a_manifest_that_is_not_ours_is_not_proof(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "_manifest.json").write_text(json.dumps({"files": ["a", "b"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="not a corpusforge manifest"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert (output / "_manifest.json").exists()


# -- anything inside a directory makes it non-empty ------------------------------------------------
def test_a_directory_holding_only_subfolders_is_not_empty(tmp_path, demo_output):
    output = copy_of(demo_output, tmp_path / "out")
    (output / "_manifest.json").unlink()  # only shard folders are left
    before = files_under(output)
    assert before and all("/" in name for name in before)
    with pytest.raises(ConfigError, match="exists and is not empty"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=False))
    assert files_under(output) == before


def test_overwrite_clears_our_layout_in_subfolders(tmp_path, demo_output):
    output = copy_of(demo_output, tmp_path / "out")
    (output / "_manifest.json").unlink()  # no manifest: recognised by its layout alone
    (output / "segment" / ".tmp-0123abcd").mkdir()
    (output / "segment" / ".tmp-0123abcd" / "4567.parquet").write_bytes(b"PAR1")  # a crashed writer's temp
    prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert output.is_dir() and [p.name for p in output.iterdir()] == [LOCK_NAME]  # held by the run it prepared


def test_an_empty_directory_is_used_as_it_is(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    prepare(write_recipe(tmp_path / "project", output, overwrite=False))
    assert output.is_dir()


# -- bad paths are ConfigErrors before the run ---------------------------------------------------
def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    output = tmp_path / "out.parquet"
    output.write_bytes(b"data")
    with pytest.raises(ConfigError, match=r"out\.parquet is a file"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=False))
    with pytest.raises(ConfigError, match=r"out\.parquet is a file"):
        prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert output.read_bytes() == b"data"


def test_an_output_path_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    recipe = write_recipe(tmp_path / "project", tmp_path / "notes.txt" / "out", overwrite=False)
    with pytest.raises(ConfigError, match=r"lies under .*notes\.txt, which is a file"):
        prepare(recipe)
    assert main(["run", str(recipe)]) == 2  # the CLI says so in one message, before the run
    assert "which is a file" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root may write anywhere")
def test_an_output_that_cannot_be_written_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="cannot create or write"):
            prepare(write_recipe(tmp_path / "project", locked / "out", overwrite=False))
    finally:
        locked.chmod(0o700)


def test_an_input_path_that_is_a_directory_is_a_config_error(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("hello\n", encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        json.dumps(
            {
                "name": "t",
                "inputs": [{"name": "a", "format": "text", "paths": ["corpus"], "options": {"lang": "en"}}],
                "output": {"path": "out"},
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"inputs\.0\.paths: .*corpus.* is a directory; name its files"):
        load_recipe(recipe)


def test_variants_job_refuses_an_output_that_is_a_file_before_running(tmp_path):
    (tmp_path / "eval.jsonl").write_text(json.dumps({"id": "1", "premise": "India is large."}) + "\n", encoding="utf-8")
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    config = tmp_path / "variants.yaml"
    config.write_text("inputs: [eval.jsonl]\nfields: [premise]\noptions: {targets: [hin_Deva]}\noutput: out\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file"):
        codeswitch_variants.main([str(config)])


def test_variants_job_claims_its_output_like_the_corpus_job(tmp_path):
    """While another run holds the output directory, the variants job refuses it before running;
    once that run has ended the job runs, and its finished run leaves no lock file."""
    import subprocess
    import sys

    (tmp_path / "eval.jsonl").write_text(json.dumps({"id": "1", "premise": "India is large."}) + "\n", encoding="utf-8")
    config = tmp_path / "variants.yaml"
    config.write_text("inputs: [eval.jsonl]\nfields: [premise]\noptions: {targets: [hin_Deva]}\noutput: out\n", encoding="utf-8")
    holder = (
        "import sys\nfrom corpusforge.outputs import LOCK_NAME, RunLock\n"
        "RunLock.acquire(sys.argv[1], LOCK_NAME, where='test')\nprint('held', flush=True)\nsys.stdin.read()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path / "out")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=rf"output: another corpusforge run is writing to .*pid {proc.pid}"):
            codeswitch_variants.main([str(config)])
        assert not (tmp_path / "out" / "_manifest.json").exists()
    finally:
        proc.stdin.close()
        proc.wait()
    assert codeswitch_variants.main([str(config)]) == 0
    assert (tmp_path / "out" / "_manifest.json").exists() and not (tmp_path / "out" / LOCK_NAME).exists()


# -- the demo command ------------------------------------------------------------------------------
def test_demo_refuses_a_directory_with_unrelated_files_and_reruns_into_its_own(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["demo", "--output", str(mine)]) == 2
    assert "data.csv, which corpusforge did not write" in capsys.readouterr().err
    assert files_under(mine) == ["data.csv"]
    demo = tmp_path / "demo"
    assert main(["demo", "--output", str(demo)]) == 0
    assert main(["demo", "--output", str(demo)]) == 0
    assert json.loads((demo / "_manifest.json").read_text(encoding="utf-8"))["balanced"]


# -- the same rules for the other jobs and for filesystems other than local disk -----------------------
def parity_job(tmp_path: Path, output: Path):
    (tmp_path / "en.txt").write_text("the cat sat\non the mat\n", encoding="utf-8")
    heldout = tmp_path / "heldout.tsv"
    heldout.write_text("unit\teng_Latn\thin_Deva\nu1\tthe cat\tबिल्ली\n", encoding="utf-8")
    return config_from_dict(
        {
            "name": "p",
            "inputs": [{"name": "en", "format": "text", "paths": ["en.txt"], "options": {"lang": "eng_Latn"}}],
            "premium": {"parallel": str(heldout), "embedded": False},
            "heldout": {"path": str(heldout)},
            "output": {"path": str(output), "overwrite": True},
        },
        base_dir=str(tmp_path),
    )


def test_parity_job_overwrite_clears_only_an_earlier_parity_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"corpus\.txt, which corpusforge did not write"):
        prepare_parity(parity_job(tmp_path, out))
    assert (out / "corpus.txt").exists()
    (out / "corpus.txt").unlink()
    for name in ("train_raw.txt", "train_balanced.txt", "raw.model", "_sampling.json"):
        (out / name).write_text("x", encoding="utf-8")
    prepare_parity(parity_job(tmp_path, out))  # an earlier parity run's files alone: cleared
    assert out.is_dir() and list(out.iterdir()) == []
    with pytest.raises(ConfigError, match="an input"):
        prepare_parity(parity_job(tmp_path, tmp_path))  # holds the corpus and the held-out text
    assert (tmp_path / "en.txt").exists() and (tmp_path / "heldout.tsv").exists()


def test_beam_store_lists_recursively_and_clears_only_our_files(tmp_path, demo_output):
    """BeamStore is the gs:// path; on local disk it must follow the same rules."""
    output = copy_of(demo_output, tmp_path / "out")
    (output / "segment" / "mine.txt").write_text("keep", encoding="utf-8")
    store = BeamStore()
    listed = {e.path for e in store.entries(str(output))}
    assert "segment/mine.txt" in listed and any(p.startswith("rejected/part-") for p in listed)
    directory = OutputDirectory(path=str(output), layout=CORPUS_LAYOUT)
    plan = directory.prepare(store, overwrite=True)
    assert plan.kept == ["segment/mine.txt"]
    assert files_under(output) == ["segment/mine.txt"]


def test_translate_test_input_that_is_a_directory_is_a_config_error(tmp_path):
    pytest.importorskip("ctranslate2")
    pytest.importorskip("sentencepiece")
    import apache_beam as beam

    from corpusforge.mt.testing import build_model
    from corpusforge.pipelines import translate_test

    model = build_model(tmp_path / "model", ["A cat sat.", "The dog ran."] * 20, languages=("eng_Latn", "fra_Latn"))
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "part-0.jsonl").write_text(json.dumps({"id": "1", "premise": "A cat sat."}) + "\n", encoding="utf-8")
    cfg = {
        "inputs": [str(tmp_path / "eval")],
        "fields": ["premise"],
        "translate": {"model": str(model), "targets": ["fra_Latn"], "src_lang": "eng_Latn"},
        "output": str(tmp_path / "out"),
    }
    with pytest.raises(ConfigError, match=r"inputs: .*eval.* is a directory"):
        translate_test.build(beam.Pipeline(), cfg)


def test_overwrite_removes_a_symlink_in_our_layout_never_its_target(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "corpus.txt").write_text("precious", encoding="utf-8")
    output = tmp_path / "out"
    output.mkdir()
    (output / "segment").symlink_to(elsewhere, target_is_directory=True)
    prepare(write_recipe(tmp_path / "project", output, overwrite=True))
    assert [p.name for p in output.iterdir()] == [LOCK_NAME] and (elsewhere / "corpus.txt").read_text(encoding="utf-8") == "precious"


def test_overwrite_replaces_an_earlier_partitioned_output_whole(tmp_path):
    """Partition folders (segment/hin_Deva/) are the writers' own layout: an earlier partitioned
    output is cleared, not left half in place and listed as files corpusforge did not write."""
    output = tmp_path / "out"
    recipe = write_recipe(tmp_path / "project", output, overwrite=True)
    assert main(["run", str(recipe), "--set", "output.partition_by=lang", "--no-progress"]) == 0
    old = sorted(p.relative_to(output).as_posix() for p in (output / "segment").rglob("*.parquet"))
    assert old and all(p.count("/") == 2 for p in old)  # segment/<lang>/part-...
    (output / "segment" / "notes.txt").write_text("mine", encoding="utf-8")  # a file, not a partition folder
    plan = OutputDirectory(path=str(output), layout=CORPUS_LAYOUT).plan(
        LocalStore().entries(str(output)), (output / "_manifest.json").read_bytes(), overwrite=True
    )
    assert plan is not None and plan.kept == ["segment/notes.txt"] and set(old) <= set(plan.files)
    LocalStore().clear(str(output), plan)
    assert not list((output / "segment").rglob("*.parquet"))
    assert (output / "segment" / "notes.txt").read_text(encoding="utf-8") == "mine"
