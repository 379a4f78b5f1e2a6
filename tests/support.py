"""Helpers several test modules share (tests/ is on sys.path when pytest collects them)."""

from __future__ import annotations

import json
from pathlib import Path


def write_recipe(
    folder: Path, output: Path, *, overwrite: bool, data: Path | None = None, text: str = "hello world\nnamaste duniya\n"
) -> Path:
    """A small recipe in ``folder`` reading ``data`` (default: ``folder/data/a.txt``, written
    with ``text`` when missing) into ``output``."""
    data = data or folder / "data" / "a.txt"
    data.parent.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        data.write_text(text, encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    recipe = {
        "name": "t",
        "inputs": [{"name": "a", "format": "text", "paths": [str(data)], "options": {"lang": "en"}}],
        "output": {"path": str(output), "overwrite": overwrite},
    }
    path = folder / "recipe.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    return path
