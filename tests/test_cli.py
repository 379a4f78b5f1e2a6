"""The corpusforge command as a user meets it: help, demo, inspect, run, and clear config errors."""

import json
import subprocess
import sys

import pytest

from corpusforge import __version__
from corpusforge.cli import main, packaged

pytestmark = pytest.mark.slow


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "demo", "inspect", "--version"):
        assert command in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_demo_then_inspect(tmp_path, capsys):
    output = tmp_path / "demo"
    assert main(["demo", "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "news_hi" in out and "total" in out and "yes" in out.splitlines()[-3]
    manifest = json.loads((output / "_manifest.json").read_text())
    assert manifest["balanced"] and manifest["totals"]["read"] == 79
    assert main(["inspect", str(output), "--rows", "2"]) == 0
    out = capsys.readouterr().out
    assert "== segment:" in out and "hin_Deva" in out and "invalid_utf8" in out and "text: string" in out


def test_run_refuses_a_non_empty_output_and_bad_keys(tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    (output / "old.txt").write_text("keep me")
    recipe = packaged("recipes/demo.yaml")
    assert main(["run", recipe, "--set", f"output.path={output}"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert (output / "old.txt").exists()
    assert main(["run", recipe, "--set", f"output.path={tmp_path / 'x'}", "--set", "dedup.scop=global"]) == 2
    assert "dedup.scop" in capsys.readouterr().err


def test_console_script_runs_in_a_fresh_process(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "corpusforge.cli",
            "run",
            packaged("recipes/demo.yaml"),
            "--set",
            f"output.path={tmp_path / 'o'}",
            "--set",
            "inputs.0.options.lang=xx-notalang",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "inputs.0.options" in result.stderr


def test_beam_options_pass_through_as_beam_spells_them():
    from corpusforge.cli import parser

    args, beam_args = parser().parse_known_args(["run", "r.yaml", "--runner=DirectRunner", "--direct_num_workers=2"])
    assert args.runner_config is None
    assert beam_args == ["--runner=DirectRunner", "--direct_num_workers=2"]


def test_runner_files_by_name_from_any_folder(tmp_path, monkeypatch, capsys):
    from corpusforge.config import ConfigError
    from corpusforge.runners import runner_args, runner_names

    monkeypatch.chdir(tmp_path)  # outside the repository: names still resolve to the installed files
    assert {"local", "dataflow", "flink", "portable-embed"} <= set(runner_names())
    assert runner_args("local") == runner_args(packaged("runners/local.yaml"))
    assert "--runner=DirectRunner" in runner_args("configs/runners/local.yaml")  # a path from the README, run elsewhere
    with pytest.raises(ConfigError, match="no runner of that name; names: .*portable-embed"):
        runner_args("lcoal")
    assert main(["run", packaged("recipes/demo.yaml"), "--runner-config", "lcoal", "--output", str(tmp_path / "o")]) == 2
    assert "no runner of that name" in capsys.readouterr().err


def test_inspect_of_a_folder_that_is_not_an_output_says_so(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert main(["inspect", str(tmp_path)]) == 2
    assert "not a corpusforge output" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_validate_and_dry_run_print_the_plan_and_write_nothing(tmp_path, capsys):
    output = tmp_path / "out"
    for argv in (["validate", packaged("recipes/demo.yaml")], ["run", packaged("recipes/demo.yaml"), "--dry-run"]):
        assert main([*argv, "--output", str(output), "--runner-config", "local"]) == 0
        out = capsys.readouterr().out
        assert "valid" in out.splitlines()[0]
        assert "news_hi: text -> segment, 1 file(s)" in out
        assert "segment: normalize -> lid" in out and "entity_switch (creates codeswitch records)" in out
        assert f"output: {output}" in out and "new or empty" in out
        assert "--direct_running_mode=multi_processing" in out
        assert not output.exists()
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    assert main(["validate", packaged("recipes/demo.yaml"), "--output", str(output), "--set", "output.overwrite=true"]) == 2
    assert "the run would refuse it" in capsys.readouterr().out and (output / "notes.txt").exists()


def test_stages_lists_every_stage_and_reader_from_their_constructors(capsys):
    from corpusforge.config import READERS, STAGES, _load_class, options_of

    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for name in STAGES:
        assert f"stage {name}  (" in out
    for fmt, kind in READERS:
        assert f"reader {fmt} ({kind})" in out
    assert main(["stages", "lid"]) == 0
    out = capsys.readouterr().out
    for option in options_of(_load_class(STAGES["lid"])):
        assert f"- {option.name}: " in out
    assert "- top_k: int, default 3" in out and "how many alternatives" in out
    assert main(["stages", "lidd"]) == 2
    assert "no stage or reader format of that name" in capsys.readouterr().err


def _jsonl_recipe(tmp_path, **top):
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"body": f"line {i} of text"}) + "\n" for i in range(20)))
    recipe = {
        "name": "wrong-field",
        "inputs": [{"name": "web", "format": "jsonl", "paths": [str(data)], "options": {"lang": "eng_Latn"}}],
        "output": {"path": str(tmp_path / "out")},
        **top,
    }
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps(recipe))
    return str(path)


def test_a_source_whose_every_row_is_rejected_warns_and_a_threshold_fails_the_run(tmp_path, capsys):
    recipe = _jsonl_recipe(tmp_path)  # text_field defaults to "text": every row lacks it
    assert main(["run", recipe, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: source web: all 20 rows were rejected (top reason: missing_field at read, 20 rows)" in err
    recipe = _jsonl_recipe(tmp_path, max_rejected_fraction=0.5)
    assert main(["run", recipe, "--output", str(tmp_path / "out2"), "--no-progress"]) == 1
    assert "ERROR: source web: 20 of 20 rows rejected (100.0%), above max_rejected_fraction 0.5" in capsys.readouterr().err
    assert main(["run", recipe, "--output", str(tmp_path / "out3"), "--set", "inputs.0.options.text_field=body", "--no-progress"]) == 0


def test_a_full_disk_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import errno

    import corpusforge.pipelines.corpus as corpus

    def full(recipe, beam_args=None, resume=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(corpus, "run", full)
    assert main(["run", _jsonl_recipe(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err


def test_runs_are_quiet_by_default_and_verbose_on_request(tmp_path):
    def run(*extra):
        return subprocess.run(
            [sys.executable, "-m", "corpusforge.cli", "demo", "--output", str(tmp_path / "o"), "--runner-config", "local", *extra],
            capture_output=True,
            text=True,
            timeout=300,
        )

    quiet = run()
    assert quiet.returncode == 0, quiet.stderr
    assert "apitools" not in quiet.stderr and "Worker:" not in quiet.stderr and "semi_persistent" not in quiet.stderr
    assert len(quiet.stderr.splitlines()) <= 3, quiet.stderr
    assert "balanced" in quiet.stdout
    loud = run("-v")
    assert loud.returncode == 0 and "INFO" in loud.stderr
