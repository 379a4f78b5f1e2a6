"""Output directories: where a job may write, and what ``overwrite`` may remove there.

A job writes into a directory only when it is new or empty; ``overwrite`` replaces an earlier
corpusforge output and nothing else. A directory counts as one when it holds a corpusforge
manifest (parsed, with corpusforge's keys) or nothing but corpusforge's own layout (the shard
folders, their ``part-*-of-*`` files, hive folders, writers' ``.tmp-*`` folders). Even then only
the entries of that layout are removed, file by file, never an unknown file or the folder
holding it. A directory that is, or contains, the recipe, an input, the working directory, the
home directory or a filesystem root is never cleared. Every refusal is a :class:`ConfigError`
raised before the pipeline starts.

Leftovers: a run that is killed or fails leaves its writers' temp files (``segment/.tmp-<uuid>/``,
``_manifest.json.tmp``). A run holds :class:`RunLock` on a local output directory from
:meth:`OutputDirectory.prepare` until its process ends (the manifest step removes the lock
file), so a free lock proves that whoever wrote the temp files is gone: the next run removes
them, with or without ``overwrite``, and a directory holding nothing else counts as empty. A
lock held by a live run refuses the directory. Object stores (gs://) have no locks: there,
leftovers are removed by ``overwrite`` only.

Runner-free: :class:`OutputStore` is how a directory is listed and cleared; :class:`LocalStore`
does it with pathlib, ``corpusforge.beam.outputs.BeamStore`` through Beam's filesystems (gs://).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

from corpusforge import __version__
from corpusforge.config import ConfigError
from corpusforge.io.shards import SHARD_GLOBS
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
    (``*`` stays within a name; a last part ``**`` is anything below; a trailing ``/`` matches
    folders only), and the marker file whose JSON keys prove that a run of ours wrote the
    directory."""

    patterns: tuple[str, ...]
    marker: str | None = None
    marker_keys: frozenset[str] = frozenset()
    temp_patterns: tuple[str, ...] = ()  # writers' temp files: leftovers once their run is gone
    lock: str | None = None  # the RunLock file, when runs claim the directory

    def owns(self, path: str, is_dir: bool = False) -> bool:
        """Whether ``path`` (relative, ``/``-separated) is a file or folder of this layout."""
        return _matches(path, (p for p in self.patterns if is_dir or not p.endswith("/")))

    def is_temp(self, path: str) -> bool:
        """Whether ``path`` is a writer's temp file or folder."""
        return _matches(path, self.temp_patterns)

    def is_marker(self, content: bytes | None) -> bool:
        """Whether ``content`` is a marker a run of ours wrote: a JSON object with our keys."""
        if content is None or self.marker is None:
            return False
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            return False
        return isinstance(data, dict) and self.marker_keys <= data.keys()


def _matches(path: str, patterns: Iterable[str]) -> bool:
    parts = path.strip("/").split("/")
    return any(_match_parts(parts, pattern.rstrip("/").split("/")) for pattern in patterns)


def _match_parts(parts: list[str], pattern: list[str]) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(parts) > len(head) and all(fnmatchcase(p, q) for p, q in zip(parts, head))
    return len(parts) == len(pattern) and all(fnmatchcase(p, q) for p, q in zip(parts, pattern))


def _shard_folder(name: str, suffix: str = "parquet") -> tuple[str, ...]:
    """A folder of part files as the shard writers leave it: the shards their own stale-shard
    sweep knows (:data:`corpusforge.io.shards.SHARD_GLOBS`: flat, or one folder per partition
    value, ``hin_Deva/`` now and ``lang=hin_Deva/`` before), those partition folders, and the
    ``.tmp-<uuid>`` folders they write into before the rename (anything inside)."""
    shards = tuple(f"{name}/{glob.removesuffix('.parquet')}.{suffix}" for glob in SHARD_GLOBS)
    return (name, *shards, f"{name}/*/", f"{name}/.tmp-*", f"{name}/.tmp-*/**")


LOCK_NAME = "_corpusforge.lock"
WORK_DIR = ".resume"  # a corpus run's staged rows, kept for --resume until its manifest is written (corpusforge.resume)
_SHARD_FOLDERS = ("segment", "bitext", "codeswitch", "rejected", "translated", "multiway", "cloned", "consistency", "variants")

# What `corpusforge report` writes inside an output (corpusforge.analysis.report): an overwrite
# clears it with the output it described.
REPORT_DIR = "report"
REPORT_FILES = ("report.html", "languages.png", "sampling.png", "lid_confidence.png", "cmi.png", "switch_points.png", "mt_score.png")

# The corpus, translate-test and variants jobs: shard folders and the run manifest
# (corpusforge.beam.write, corpusforge.io.shards.write_shards, corpusforge/pipelines/*.py).
CORPUS_LAYOUT = OutputLayout(
    patterns=(
        MANIFEST_NAME,
        f"{MANIFEST_NAME}.tmp",
        LOCK_NAME,
        *(p for kind in _SHARD_FOLDERS[:-1] for p in _shard_folder(kind)),
        *_shard_folder("variants", "jsonl"),
        REPORT_DIR,
        *(f"{REPORT_DIR}/{name}" for name in REPORT_FILES),
        WORK_DIR,
        f"{WORK_DIR}/**",
    ),
    marker=MANIFEST_NAME,
    marker_keys=frozenset({"corpusforge_version", "recipe_hash", "totals", "sources"}),
    temp_patterns=(
        f"{MANIFEST_NAME}.tmp",
        WORK_DIR,
        f"{WORK_DIR}/**",
        *(p for kind in _SHARD_FOLDERS for p in (f"{kind}/.tmp-*", f"{kind}/.tmp-*/**")),
    ),
    lock=LOCK_NAME,
)
_LOCK_KEYS = frozenset({"host", "pid", "started_at", "corpusforge_version"})


class RunLock:
    """A run's claim on a local output directory: an exclusive ``flock`` on its lock file, held
    from :meth:`OutputDirectory.prepare` until the process ends or :meth:`release`; the file
    names the holder (host, pid, start). The kernel drops a dead process's flock, so a free lock
    proves that no run which claimed the directory is still writing there (NFS carries flock
    locks between hosts). One process holds one claim per directory: claiming again replaces it."""

    _held: dict[str, RunLock] = {}  # directory -> this process's claim

    def __init__(self, path: str, fd: int, *, created: bool):
        self.path, self._fd, self.created = path, fd, created
        self.info: dict = {}

    @staticmethod
    def holder(path: str) -> dict | None:
        """Who holds the lock at ``path``: its JSON when another open file holds it, else None
        (no file, or a free one: a dead run's)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _lock_info(fd)
            except OSError:  # a filesystem without locks: nothing proves a run alive or dead
                return {"host": "?", "pid": "?", "started_at": "? (this filesystem has no file locks)"}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @classmethod
    def ours(cls, directory: str) -> bool:
        return directory in cls._held

    @classmethod
    def held(cls, directory: str) -> RunLock | None:
        """This process's claim on ``directory``, if it holds one."""
        return cls._held.get(directory)

    @classmethod
    def created_by_us(cls, directory: str) -> bool:
        """Whether this process's claim on ``directory`` created its lock file (none was there)."""
        lock = cls._held.get(directory)
        return lock is not None and lock.created

    @classmethod
    def token(cls, directory: str) -> str | None:
        """The token of this process's claim on ``directory`` (None without one): what the run's
        manifest step checks before it removes the lock file."""
        lock = cls._held.get(directory)
        return lock.info.get("token") if lock is not None else None

    @classmethod
    def acquire(cls, directory: str, name: str, *, where: str) -> RunLock:
        """Claim ``directory`` (created if missing); a ConfigError naming the holder when a live
        run holds it, or when ``name`` there is a file corpusforge did not write."""
        previous = cls._held.pop(directory, None)
        if previous is not None:  # this process's earlier run into the directory has ended
            previous.release()
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        while True:
            created = not os.path.lexists(path)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                info = _lock_info(fd) or {}
                os.close(fd)
                raise ConfigError(
                    f"{where}: another corpusforge run is writing to {directory} (pid {info.get('pid', '?')} on "
                    f"{info.get('host', '?')}, since {info.get('started_at', '?')}); wait for it to end or stop it, or choose another directory"
                ) from None
            except OSError:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the file was removed (a run finishing) between open and lock: again
                os.close(fd)
                continue
            if not created and os.fstat(fd).st_size and _lock_info(fd) is None:
                os.close(fd)
                raise ConfigError(f"{where}: {path} is not a corpusforge lock file; {_OVERWRITE_HINT}")
            info = {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "corpusforge_version": __version__,
                "token": uuid.uuid4().hex,  # this run's claim: only its own manifest step removes the file
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info, sort_keys=True).encode() + b"\n", 0)
            lock = cls(path, fd, created=created)
            lock.info = info
            cls._held[directory] = lock
            return lock

    @classmethod
    def release_directory(cls, directory: str, *, remove: bool = True) -> None:
        """Give up this process's claim on ``directory`` (a command whose run ended): no
        descriptor stays open. ``remove=False`` (a failed run) leaves the free lock file behind,
        the sign by which the next run knows the temp files there are a dead run's."""
        lock = cls._held.get(directory)
        if lock is not None:
            lock.release(remove=remove)

    def release(self, *, remove: bool = False) -> None:
        """Give the claim up; ``remove`` deletes the lock file too (when it is still this one)."""
        if self._fd < 0:
            return
        try:
            if remove and os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = -1
        for directory, lock in list(self._held.items()):
            if lock is self:
                del self._held[directory]


def _lock_info(fd: int) -> dict | None:
    """The holder a lock file names, None when it is not a corpusforge lock file."""
    try:
        return lock_holder(os.pread(fd, 4096, 0))
    except OSError:
        return None


def lock_holder(content: bytes) -> dict | None:
    """The holder a lock file's content names (host, pid, start, token), None when it is not a
    corpusforge lock file."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data if isinstance(data, dict) and _LOCK_KEYS <= data.keys() else None


@dataclass(frozen=True)
class ClearPlan:
    """What clearing an output removes: our files, then our folders once empty (deepest
    first); ``kept`` are entries not of our layout, left where they are."""

    files: list[str]
    folders: list[str]
    kept: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # of them, a dead run's temp files and folders


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
    return pattern[:cut].rsplit("/", 1)[0] or "/"


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
            raise ConfigError(
                f"{self.where}: cannot create or write {out} (no write permission on {existing}); choose a directory you can write"
            )

    def plan(self, entries: Iterable[Entry], marker: bytes | None, *, overwrite: bool) -> ClearPlan | None:
        """What to remove before the run, None when the directory is new or empty; a
        ConfigError when it holds anything and ``overwrite`` is off, or when it is not an
        earlier corpusforge output."""
        entries = sorted((e for e in entries if e.path != self.layout.lock), key=lambda e: e.path)
        leftovers = self._leftovers(entries) if self.leftovers_are_dead() else []
        gone = {e.path for e in leftovers}
        entries = [e for e in entries if e.path not in gone]
        if not entries:
            return self._clear_plan(leftovers, leftovers=leftovers) if leftovers else None
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
        unknown = [e.path for e in entries if not self.layout.owns(e.path, e.is_dir)]
        if unknown and not ours:
            raise ConfigError(
                f"{self.where}: {self.path} holds {unknown[0]}, which corpusforge did not write; output.overwrite "
                f"only replaces an earlier corpusforge output: {_OVERWRITE_HINT}"
            )
        owned = [e for e in entries if self.layout.owns(e.path, e.is_dir)]
        return self._clear_plan([*leftovers, *owned], kept=unknown, leftovers=leftovers)

    def _leftovers(self, entries: list[Entry]) -> list[Entry]:
        """A dead run's temp files and folders among ``entries``, with the folders of our
        layout that hold nothing else (``segment/`` around ``segment/.tmp-<uuid>/``)."""
        temp = [e for e in entries if self.layout.is_temp(e.path)]
        if not temp:
            return []
        temp_paths = {e.path for e in temp}
        below_temp: set[str] = set()
        below_other: set[str] = set()
        for e in entries:
            parents = {"/".join(e.path.split("/")[:i]) for i in range(1, e.path.count("/") + 1)}
            (below_temp if e.path in temp_paths else below_other).update(parents)
        hollow = [
            e for e in entries
            if e.is_dir and e.path not in temp_paths and self.layout.owns(e.path, e.is_dir) and e.path in below_temp and e.path not in below_other
        ]  # fmt: skip
        return temp + hollow

    @staticmethod
    def _clear_plan(entries: list[Entry], *, kept: Sequence[str] = (), leftovers: Sequence[Entry] = ()) -> ClearPlan:
        return ClearPlan(
            files=sorted(e.path for e in entries if not e.is_dir),
            folders=sorted((e.path for e in entries if e.is_dir), key=lambda p: (-p.count("/"), p)),
            kept=list(kept),
            leftovers=[e.path for e in leftovers],
        )

    def leftovers_are_dead(self) -> bool:
        """Whether no run that claimed this directory can still be writing its temp files: the
        claim is this process's, or a lock file is there and free (its run died). Without a lock
        file the temp files may be a lock-free job's, still writing. A ConfigError when a live
        run holds the lock."""
        if is_url(self.path) or self.layout.lock is None:
            return False
        if RunLock.ours(self.path):
            # our claim found a lock file there (an earlier run's, free): its temp files are dead;
            # if it created the file, no run that locks left them
            return not RunLock.created_by_us(self.path)
        lock_path = os.path.join(self.path, self.layout.lock)
        if not os.path.lexists(lock_path):
            # No run that takes the lock left these: a job that did not (translate-test and
            # variants before they took it, a library caller's pipeline) may still be writing them.
            return False
        holder = RunLock.holder(lock_path)
        if holder is not None:
            raise ConfigError(
                f"{self.where}: another corpusforge run is writing to {self.path} (pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}, since {holder.get('started_at', '?')}); wait for it to end or stop it, or choose another directory"
            )
        return True

    def prepare(self, store: OutputStore, *, overwrite: bool, keep: str | None = None) -> ClearPlan | None:
        """Check the location, claim it (:class:`RunLock`, local directories), remove a dead
        run's leftovers, then clear an earlier output of ours when ``overwrite`` allows; returns
        what was cleared. Local directories are created, so that a write that would fail fails
        here. ``keep`` (a resumed run: its work folder) names a folder of ours left as it is;
        everything else of ours is cleared as with ``overwrite``."""
        try:
            return self._prepare(store, overwrite=overwrite, keep=keep)
        except OSError as exc:  # a disk or permission error on the way: one line naming the path
            where = exc.filename or self.path
            raise ConfigError(
                f"{self.where}: cannot prepare {self.path}: {exc.strerror or exc} ({where}); choose a directory you can write"
            ) from None

    def _prepare(self, store: OutputStore, *, overwrite: bool, keep: str | None) -> ClearPlan | None:
        if keep is not None:
            overwrite = True
        self.check_location(overwrite=overwrite)
        lock = None
        if not is_url(self.path) and self.layout.lock is not None:
            lock = RunLock.acquire(self.path, self.layout.lock, where=self.where)
        marker = store.read(f"{self.path}/{self.layout.marker}") if self.layout.marker else None
        entries = store.entries(self.path)
        if keep is not None:
            entries = [e for e in entries if e.path != keep and not e.path.startswith(f"{keep}/")]
        try:
            plan = self.plan(entries, marker, overwrite=overwrite)
        except ConfigError:
            if lock is not None:
                lock.release(remove=lock.created)  # leave a refused directory as it was
            raise
        if plan is not None:
            store.clear(self.path, plan)
            if plan.leftovers:
                _LOG.warning("removed %d temp files and folders a run that did not finish left in %s", len(plan.leftovers), self.path)
            if plan.kept:
                _LOG.warning(
                    "output.overwrite left %d entries corpusforge did not write in %s: %s",
                    len(plan.kept),
                    self.path,
                    ", ".join(plan.kept[:5]),
                )
        if not is_url(self.path):
            try:
                Path(self.path).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"{self.where}: cannot create {self.path} ({exc.strerror}); choose a directory you can write") from None
        return plan
