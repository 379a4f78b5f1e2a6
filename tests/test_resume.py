"""``corpusforge run --resume``: a killed run continued in its output directory gives the output
and manifest of an uninterrupted run (byte-identical shards with ``shard_count``), reusing the
inputs it staged completely and redoing the others; a rerun without ``--resume`` does too."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpusforge.cli import main
from corpusforge.config import ConfigError, load_recipe
from corpusforge.pipelines.corpus import prepare_output

pytestmark = pytest.mark.slow

INPUTS = ("news", "web", "forum")


def corpus(tmp_path: Path, lines: int) -> Path:
    """Three text inputs with duplicates across them and a bad line each; a recipe over them."""
    data = tmp_path / "data"
    data.mkdir()
    for n, name in enumerate(INPUTS):
        rows = [f"{name} line {i} " + "शब्द " * (i % 7) for i in range(lines)]
        rows[5] = "shared line, in every input"
        rows[9] = "bad \x00 line"
        (data / f"{name}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
        if n == 0:
            (data / f"{name}.txt").write_bytes((data / f"{name}.txt").read_bytes() + b"\xff\xfe not utf-8\n")
    recipe = {
        "name": "resume",
        "inputs": [
            {"name": name, "format": "text", "paths": [str(data / f"{name}.txt")], "options": {"lang": "hin_Deva"}} for name in INPUTS
        ],
        "stages": [{"normalize": {"unicode_form": "NFC"}}],
        "dedup": {"scope": "global"},
        "output": {"path": str(tmp_path / "out"), "shard_count": 3},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    return path


def shards(output: Path) -> dict[str, bytes]:
    return {str(f.relative_to(output)): f.read_bytes() for f in sorted(output.rglob("*.parquet"))}


def manifest(output: Path) -> dict:
    data = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))
    data.pop("created_at")  # when each run ended
    assert set(data.pop("run")) == {"runner", "started_at"}  # and when it started (the report's run section)
    return data


def run_cli(recipe: Path, *extra: str) -> int:
    return main(["run", str(recipe), "--no-progress", *extra])


def done_records(output: Path) -> list[Path]:
    return sorted((output / ".resume" / "done").glob("*.json"))


def test_a_killed_run_resumed_or_rerun_equals_an_uninterrupted_one(tmp_path):
    recipe = corpus(tmp_path, 30_000)
    output = tmp_path / "out"
    assert run_cli(recipe) == 0
    expected_shards, expected_manifest = shards(output), manifest(output)
    assert not (output / ".resume").exists()  # the work folder goes with the manifest
    shutil.rmtree(output)

    # Kill the run (SIGKILL, no cleanup) once every input's completion record is written and
    # before its manifest is: dedup and the writes are under way.
    proc = subprocess.Popen([sys.executable, "-m", "corpusforge.cli", "run", str(recipe), "--no-progress"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(done_records(output)) < len(INPUTS) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (output / "_manifest.json").exists(), "the run ended before it could be killed"
    assert len(done_records(output)) == len(INPUTS)
    killed = tmp_path / "killed"
    shutil.copytree(output, killed, symlinks=True)

    assert run_cli(recipe, "--resume") == 0
    assert shards(output) == expected_shards
    resumed = manifest(output)
    assert resumed.pop("resumed")["skipped_inputs"] == sorted(INPUTS)
    assert resumed == expected_manifest
    assert not (output / ".resume").exists()

    shutil.rmtree(output)
    shutil.copytree(killed, output, symlinks=True)
    assert run_cli(recipe) == 0  # without --resume: the dead run's files are leftovers, all redone
    assert shards(output) == expected_shards and manifest(output) == expected_manifest


def test_inputs_without_a_completion_record_are_redone(tmp_path, monkeypatch):
    recipe = corpus(tmp_path, 2_000)
    output = tmp_path / "out"
    assert run_cli(recipe) == 0
    expected_shards, expected_manifest = shards(output), manifest(output)
    shutil.rmtree(output)

    # A run that dies after staging (its manifest step fails), one input's record lost with it
    import corpusforge.beam.write as write

    def die(*args, **kwargs):
        raise RuntimeError("the machine went away")

    monkeypatch.setattr(write, "_write_manifest", die)
    assert run_cli(recipe) == 1
    monkeypatch.undo()
    records = done_records(output)
    lost = json.loads(records[0].read_text(encoding="utf-8"))["source"]
    records[0].unlink()

    assert run_cli(recipe, "--resume") == 0
    assert shards(output) == expected_shards
    resumed = manifest(output)
    section = resumed.pop("resumed")
    assert section["redone_inputs"] == [lost] and section["skipped_inputs"] == sorted(set(INPUTS) - {lost})
    assert resumed == expected_manifest


def test_an_input_changed_since_the_killed_run_is_redone(tmp_path, monkeypatch):
    recipe = corpus(tmp_path, 500)
    output = tmp_path / "out"
    import corpusforge.beam.write as write

    monkeypatch.setattr(write, "_write_manifest", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    assert run_cli(recipe) == 1
    monkeypatch.undo()
    changed = tmp_path / "data" / "web.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "one more line\n", encoding="utf-8")
    assert run_cli(recipe, "--resume") == 0
    section = json.loads((output / "_manifest.json").read_text(encoding="utf-8"))["resumed"]
    assert section["changed_inputs"] == ["web"] and "web" in section["redone_inputs"]
    texts = pq.read_table(output / "segment").column("text").to_pylist()
    assert "one more line" in texts  # read again, not taken from the stage


def test_resume_refuses_a_directory_without_an_interrupted_run(tmp_path):
    recipe = corpus(tmp_path, 50)
    with pytest.raises(ConfigError, match="no interrupted corpusforge run"):
        prepare_output(load_recipe(recipe), resume=True)


def test_a_recipe_that_is_not_resumable_stages_nothing_and_writes_the_same_output(tmp_path):
    recipe = corpus(tmp_path, 200)
    output = tmp_path / "out"
    assert run_cli(recipe) == 0
    expected_shards, expected_manifest = shards(output), manifest(output)
    assert run_cli(recipe, "--set", "output.resumable=false", "--set", "output.overwrite=true") == 0
    assert shards(output) == expected_shards
    unstaged = manifest(output)
    assert unstaged.pop("config")["output"]["resumable"] is False  # the config as run is recorded
    expected_manifest.pop("config")
    assert unstaged == expected_manifest  # and the recipe hash is the same: how it runs is not hashed
    assert not (output / ".resume").exists()
    with pytest.raises(ConfigError, match="output.resumable: false"):
        prepare_output(load_recipe(recipe, ["output.resumable=false"]), resume=True)
