"""Output directories: where a job may write, and what ``overwrite`` may remove there.

A job writes into a directory only when it is new or empty; ``overwrite`` replaces an earlier
corpusforge output and nothing else. A directory counts as one when it holds a corpusforge
manifest (parsed, with corpusforge's keys) or nothing but corpusforge's own layout (the shard
folders, their ``part-*-of-*`` files, hive folders, writers' ``.tmp-*`` folders). Even then only
the entries of that layout are removed, file by file, never an unknown file or the folder
holding it. A directory that is, or contains, the recipe, an input, the working directory, the
home directory or a filesystem root is never cleared. Every refusal is a :class:`ConfigError`
raised before the pipeline starts.

Runner-free: :class:`OutputStore` is how a directory is listed and cleared; :class:`LocalStore`
does it with pathlib, ``corpusforge.beam.outputs.BeamStore`` through Beam's filesystems (gs://).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from corpusforge.config import ConfigError
from corpusforge.manifest import MANIFEST_NAME

_LOG = logging.getLogger(__name__)
_GLOB_CHARS = "*?[{"
_OVERWRITE_HINT = "choose a new or empty directory"


@dataclass(frozen=True, order=True)
class Entry:
    """One thing inside an output directory: its path relative to it (``/``-separated)."""

    path: str
    is_dir: bool = False


@dataclass(frozen=True)
class OutputLayout:
    """What a job writes in its output directory: glob patterns relative to it, one per level
    (``*`` stays within a name; a last part ``**`` is anything below), and the marker file whose
    JSON keys prove that a run of ours wrote the directory."""

    patterns: tuple[str, ...]
    marker: str | None = None
    marker_keys: frozenset[str] = frozenset()

    def owns(self, path: str) -> bool:
        """Whether ``path`` (relative, ``/``-separated) is a file or folder of this layout."""
        parts = path.strip("/").split("/")
        return any(_match_parts(parts, pattern.split("/")) for pattern in self.patterns)

    def is_marker(self, content: bytes | None) -> bool:
        """Whether ``content`` is a marker a run of ours wrote: a JSON object with our keys."""
        if content is None or self.marker is None:
            return False
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            return False
        return isinstance(data, dict) and self.marker_keys <= data.keys()


def _match_parts(parts: list[str], pattern: list[str]) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(parts) > len(head) and all(fnmatchcase(p, q) for p, q in zip(parts, head))
    return len(parts) == len(pattern) and all(fnmatchcase(p, q) for p, q in zip(parts, pattern))


def _shard_folder(name: str, suffix: str = "parquet") -> tuple[str, ...]:
    """A folder of part files as the shard writers leave it: flat or hive-partitioned shards,
    and the ``.tmp-<uuid>`` folders they write into before the rename (anything inside)."""
    return (
        name,
        f"{name}/part-*-of-*.{suffix}",
        f"{name}/*=*",
        f"{name}/*=*/part-*-of-*.{suffix}",
        f"{name}/.tmp-*",
        f"{name}/.tmp-*/**",
    )


# The corpus, translate-test and variants jobs: shard folders and the run manifest
# (corpusforge.beam.write, corpusforge.io.parquet.write_shards, corpusforge/pipelines/*.py).
CORPUS_LAYOUT = OutputLayout(
    patterns=(
        MANIFEST_NAME,
        f"{MANIFEST_NAME}.tmp",
        *(p for kind in ("segment", "bitext", "codeswitch", "rejected", "translated") for p in _shard_folder(kind)),
        *_shard_folder("variants", "jsonl"),
    ),
    marker=MANIFEST_NAME,
    marker_keys=frozenset({"corpusforge_version", "recipe_hash", "totals", "sources"}),
)


@dataclass(frozen=True)
class ClearPlan:
    """What clearing an output removes: our files, then our folders once empty (deepest
    first); ``kept`` are entries not of our layout, left where they are."""

    files: list[str]
    folders: list[str]
    kept: list[str] = field(default_factory=list)


class OutputStore(Protocol):
    """How an output directory is listed, read and cleared (local disk, or a Beam filesystem)."""

    def entries(self, path: str) -> list[Entry]:
        """Everything below ``path``, recursively, relative to it; [] when it does not exist."""
        ...

    def read(self, path: str) -> bytes | None:
        """The bytes of the file ``path``, None when there is none."""
        ...

    def clear(self, path: str, plan: ClearPlan) -> None:
        """Remove the plan's files, then its folders where they are empty."""
        ...


class LocalStore:
    """An output directory on local disk, through pathlib."""

    def entries(self, path: str) -> list[Entry]:
        root = Path(path)
        if not root.is_dir():
            return []
        # a symlink counts as a file: clearing removes the link, never what it points to
        return sorted(Entry(p.relative_to(root).as_posix(), p.is_dir() and not p.is_symlink()) for p in root.rglob("*"))

    def read(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except OSError:
            return None

    def clear(self, path: str, plan: ClearPlan) -> None:
        root = Path(path)
        for name in plan.files:
            (root / name).unlink(missing_ok=True)
        for name in plan.folders:
            folder = root / name
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def is_url(path: str) -> bool:
    return "://" in path


def _pattern_base(pattern: str) -> str:
    """The part of an input pattern before its first glob character, up to a separator
    (``data/*.txt`` -> ``data``); a plain path is itself."""
    cut = min((i for i in (pattern.find(c) for c in _GLOB_CHARS) if i >= 0), default=-1)
    if cut < 0:
        return pattern
    return pattern[: cut].rsplit("/", 1)[0] or "/"


def _contains(folder: str, path: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (URLs by prefix, local paths resolved)."""
    if is_url(folder) or is_url(path):
        folder, path = folder.rstrip("/"), path.rstrip("/")
        return path == folder or path.startswith(folder + "/")
    folder_path, target = Path(folder).resolve(), Path(path).resolve()
    return target == folder_path or folder_path in target.parents


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except RuntimeError:  # no HOME and no password entry
        return None


class OutputDirectory:
    """The output directory of one run: where it is, the files it must never contain (the
    recipe, input patterns) and the layout a run of ours leaves there. ``where`` names the
    setting in messages (``output.path``)."""

    def __init__(
        self,
        *,
        path: str,
        layout: OutputLayout = CORPUS_LAYOUT,
        protected: Sequence[str] = (),
        where: str = "output.path",
    ):
        self.path = path if is_url(path) else str(Path(path).resolve())
        self.layout = layout
        self.protected = [_pattern_base(p) for p in protected]
        self.where = where

    def check_location(self, *, overwrite: bool) -> None:
        """Refuse, before anything runs, an output that is a file or lies under one, cannot be
        created or written, or contains the recipe or an input; with ``overwrite`` also the
        working directory, the home directory, a filesystem root or a folder above them."""
        for kept in self.protected:
            if _contains(self.path, kept):
                raise ConfigError(
                    f"{self.where}: {self.path} contains {kept} (the recipe or an input); write the output to another directory"
                )
        if is_url(self.path):
            return
        out = Path(self.path)
        if overwrite:
            for name, special in (("the working directory", Path.cwd().resolve()), ("the home directory", _home())):
                if special is not None and (out == special or out in special.parents):
                    raise ConfigError(f"{self.where}: {out} is or contains {name}; output.overwrite never clears it: {_OVERWRITE_HINT}")
            if out == Path(out.anchor):
                raise ConfigError(f"{self.where}: {out} is a filesystem root; {_OVERWRITE_HINT}")
        existing = next(p for p in (out, *out.parents) if p.exists())
        if not existing.is_dir():
            what = "is a file" if existing == out else f"lies under {existing}, which is a file"
            raise ConfigError(f"{self.where}: {out} {what}; the output is a directory: choose another path")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{self.where}: cannot create or write {out} (no write permission on {existing}); choose a directory you can write")

    def plan(self, entries: Iterable[Entry], marker: bytes | None, *, overwrite: bool) -> ClearPlan | None:
        """What to remove before the run, None when the directory is new or empty; a
        ConfigError when it holds anything and ``overwrite`` is off, or when it is not an
        earlier corpusforge output."""
        entries = sorted(entries, key=lambda e: e.path)
        if not entries:
            return None
        if not overwrite:
            example = next((e.path for e in entries if not e.is_dir), entries[0].path)
            raise ConfigError(
                f"{self.where}: {self.path} exists and is not empty (it holds {example}); "
                f"{_OVERWRITE_HINT}, or set output.overwrite: true to replace an earlier corpusforge output there"
            )
        ours = self.layout.is_marker(marker)
        if not ours and marker is not None:
            raise ConfigError(
                f"{self.where}: {self.path}/{self.layout.marker} is not a corpusforge manifest, so output.overwrite "
                f"will not clear the directory; {_OVERWRITE_HINT}"
            )
        unknown = [e.path for e in entries if not self.layout.owns(e.path)]
        if unknown and not ours:
            raise ConfigError(
                f"{self.where}: {self.path} holds {unknown[0]}, which corpusforge did not write; output.overwrite "
                f"only replaces an earlier corpusforge output: {_OVERWRITE_HINT}"
            )
        owned = [e for e in entries if self.layout.owns(e.path)]
        return ClearPlan(
            files=[e.path for e in owned if not e.is_dir],
            folders=sorted((e.path for e in owned if e.is_dir), key=lambda p: (-p.count("/"), p)),
            kept=unknown,
        )

    def prepare(self, store: OutputStore, *, overwrite: bool) -> ClearPlan | None:
        """Check the location, then clear an earlier output of ours when ``overwrite`` allows;
        returns what was cleared. Local directories are created, so that a write that would
        fail fails here."""
        self.check_location(overwrite=overwrite)
        marker = store.read(f"{self.path}/{self.layout.marker}") if self.layout.marker else None
        plan = self.plan(store.entries(self.path), marker, overwrite=overwrite)
        if plan is not None:
            store.clear(self.path, plan)
            if plan.kept:
                _LOG.warning("output.overwrite left %d entries corpusforge did not write in %s: %s", len(plan.kept), self.path, ", ".join(plan.kept[:5]))
        if not is_url(self.path):
            try:
                Path(self.path).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"{self.where}: cannot create {self.path} ({exc.strerror}); choose a directory you can write") from None
        return plan
