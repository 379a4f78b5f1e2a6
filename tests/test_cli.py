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
        [sys.executable, "-m", "corpusforge.cli", "run", packaged("recipes/demo.yaml"), "--set", f"output.path={tmp_path / 'o'}", "--set", "inputs.0.options.lang=xx-notalang"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "inputs.0.options" in result.stderr
