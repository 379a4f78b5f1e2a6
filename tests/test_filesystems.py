"""Recipe checks match local paths without Beam, exactly as the run (Beam's filesystems) matches
them, and hand paths with a scheme to the registered filesystem."""

import os
import subprocess
import sys

import pytest

from corpusforge.config import ConfigError, recipe_from_dict
from corpusforge.io import filesystems
from corpusforge.io.filesystems import LOCAL, expand_patterns, filesystem_for

PATTERNS = [
    "*.txt",
    "**.txt",
    "**/*.gz",
    "sub/*",
    "sub/",
    "s?b/deep/*.zst",
    "[ab].txt",
    "[!a].txt",
    "a.txt",
    "sub",
    "missing/*.txt",
    "*.{txt,gz}",
    "n*/**",
]


@pytest.fixture()
def tree(tmp_path):
    for rel in ["a.txt", "b.txt", "c.csv", "sub/x.txt", "sub/y.gz", "sub/deep/z.txt.zst", "sub/deep/w.gz", "name with space/q.txt"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    os.symlink(tmp_path / "gone", tmp_path / "sub" / "broken.txt")  # a broken link is passed over, as Beam does
    return tmp_path


def test_local_matching_agrees_with_beams_filesystems(tree):
    from apache_beam.io.filesystems import FileSystems

    for pattern in PATTERNS:
        full = f"{tree}/{pattern}"
        beams = sorted(m.path for m in FileSystems.match([full])[0].metadata_list)
        assert LOCAL.match(full) == beams, pattern
    assert len(LOCAL.match(f"{tree}/**.txt")) == 4  # the symlink is left out, the space kept


def test_keys_and_errors_agree_with_the_run(tree):
    from corpusforge.beam.read import expand_patterns as run_expand

    patterns = [f"{tree}/**.txt", f"{tree}/a.txt", f"{tree}/sub/deep/*"]
    assert expand_patterns(patterns) == run_expand(patterns)
    for bad, error in [(f"{tree}/nothing-*.txt", FileNotFoundError), (f"{tree}/sub", IsADirectoryError)]:
        with pytest.raises(error) as native:
            expand_patterns([bad])
        with pytest.raises(error) as run:
            run_expand([bad])
        assert str(native.value) == str(run.value)


def test_loading_a_recipe_imports_no_beam(tree):
    code = (
        "import sys\n"
        "from corpusforge.config import recipe_from_dict\n"
        f"r = recipe_from_dict({{'name': 't', 'inputs': [{{'name': 'a', 'format': 'text', 'paths': ['**.txt']}}],"
        f" 'output': {{'path': {str(tree / 'out')!r}}}, 'stages': [{{'normalize': {{}}}}, {{'lid': {{}}}}]}}, base_dir={str(tree)!r})\n"
        "assert r.inputs[0].patterns, r\n"
        "print(sorted(m for m in sys.modules if m.startswith('apache_beam')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class Bucket:
    """A filesystem of two objects under mem://b/data/."""

    files = {"mem://b/data/x.txt": b"x\n", "mem://b/data/y.txt": b"y\n"}

    def match(self, pattern):
        return sorted(p for p in self.files if p.startswith(pattern.split("*")[0]))

    def exists(self, path):
        return path in self.files

    def open(self, path):
        raise OSError("not read in these tests")


BUCKET = Bucket()


def test_scheme_paths_go_to_the_registered_filesystem(tmp_path, monkeypatch):
    monkeypatch.setattr(filesystems, "_remote", {"spec": None, "filesystem": None})
    data = {"name": "t", "inputs": [{"name": "a", "format": "text", "paths": ["mem://b/data/*.txt"]}], "output": {"path": str(tmp_path)}}
    with pytest.raises(ConfigError, match=r"inputs\.0\.paths: mem://b/data/\*\.txt: no filesystem is registered"):
        recipe_from_dict(data, base_dir=str(tmp_path))
    filesystems.register_filesystem(f"{__name__}:BUCKET")
    assert filesystem_for("mem://b/data/x.txt") is BUCKET
    assert recipe_from_dict(data, base_dir=str(tmp_path)).inputs[0].patterns == ["mem://b/data/*.txt"]
    data["inputs"][0]["paths"] = ["mem://b/other/*.txt"]
    with pytest.raises(ConfigError, match="matches no file"):
        recipe_from_dict(data, base_dir=str(tmp_path))


def test_the_jobs_register_beams_filesystems_for_schemes():
    import corpusforge.pipelines  # noqa: F401  (registers)
    from corpusforge.beam.read import BEAM_FILESYSTEM

    assert filesystem_for("gs://bucket/x.txt") is BEAM_FILESYSTEM
    assert filesystem_for("/data/x.txt") is LOCAL
