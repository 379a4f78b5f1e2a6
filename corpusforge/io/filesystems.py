"""Where input files are: matching patterns, checking and opening paths, with no runner.

Local paths are served here, matched as Beam's local filesystem matches them (``*`` within a
folder, ``**`` across folders, ``?``, ``[...]``; a pattern ending in ``/`` means its files), so
a recipe's check agrees with what the run reads. Paths with a scheme (``gs://``, ``s3://``) go
to the filesystem registered for them: the jobs register Beam's filesystems
(``corpusforge.pipelines``) by name, imported only when such a path is used, so loading a
recipe of local paths imports no Beam.
"""

from __future__ import annotations

import importlib
import os
import posixpath
import re
from typing import Any, BinaryIO, Protocol

_GLOB = re.compile(r"[*?\[{]")
_SCHEME = re.compile(r"(?P<scheme>[a-zA-Z][-a-zA-Z0-9+.]*)://.*")  # as Beam's FileSystems reads one


class FileSystem(Protocol):
    """What readers and recipe checks need of a filesystem."""

    def match(self, pattern: str) -> list[str]:
        """Paths of the files ``pattern`` matches, sorted; raises OSError when it cannot list."""
        ...

    def exists(self, path: str) -> bool: ...

    def open(self, path: str) -> BinaryIO:
        """The file's raw bytes (readers decompress them)."""
        ...


class LocalFileSystem:
    """Local files, matched by the rules of Beam's ``LocalFileSystem.match``."""

    def match(self, pattern: str) -> list[str]:
        if pattern.endswith(("/", "\\")):
            pattern += "*"
        prefix = re.match(r"^[^[*?]*", pattern).group(0)  # type: ignore[union-attr]  # matches every string
        if prefix == pattern:  # no glob: the path itself
            return [pattern] if os.path.exists(pattern) else []
        folder = os.path.dirname(prefix)
        if not os.path.exists(folder):
            return []
        matches = re.compile(translate_pattern(pattern)).match
        found = []
        for dirpath, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    os.path.getsize(path)  # as Beam lists: a file gone or a broken link is passed over
                except OSError:
                    continue
                if matches(path):
                    found.append(path)
        return sorted(found)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def open(self, path: str) -> BinaryIO:
        return open(path, "rb")


def translate_pattern(pattern: str) -> str:
    """A pattern as a regular expression: fnmatch's syntax, but ``*`` stops at ``/`` and ``\\``
    and ``**`` does not (Beam's ``FileSystem.translate_pattern``)."""
    i, n, out = 0, len(pattern), ""
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if i < n and pattern[i] == "*":
                out += ".*"
                i += 1
            else:
                out += r"[^/\\]*"
        elif c == "?":
            out += "."
        elif c == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out += r"\["
            else:
                stuff = pattern[i:j].replace("\\", "\\\\")
                i = j + 1
                if stuff[0] == "!":
                    stuff = "^" + stuff[1:]
                elif stuff[0] == "^":
                    stuff = "\\" + stuff
                out += f"[{stuff}]"
        else:
            out += re.escape(c)
    return r"(?ms)" + out + r"\Z"


LOCAL = LocalFileSystem()
_remote: dict[str, Any] = {"spec": None, "filesystem": None}


def register_filesystem(spec: str) -> None:
    """Serve paths with a scheme by ``"module:attribute"`` (a :class:`FileSystem`), imported on
    first use. The jobs register Beam's filesystems; a library caller may register another."""
    _remote.update(spec=spec, filesystem=None)


def filesystem_for(path: str) -> FileSystem:
    """The local filesystem for a plain path, the registered one for a path with a scheme."""
    if _SCHEME.match(path.strip()) is None:
        return LOCAL
    if _remote["filesystem"] is None:
        spec = _remote["spec"]
        if spec is None:
            raise ValueError(
                f"{path}: no filesystem is registered for this scheme; run it through corpusforge's jobs or call register_filesystem()"
            )
        module, _, name = spec.partition(":")
        _remote["filesystem"] = getattr(importlib.import_module(module), name)
    return _remote["filesystem"]


def pattern_root(pattern: str) -> str:
    """The directory part of ``pattern`` before its first glob character, ending in ``/``
    (``gs://b/data/*/x.gz`` -> ``gs://b/data/``); a plain path gives its directory."""
    match = _GLOB.search(pattern)
    head = pattern[: match.start()] if match else pattern
    return head[: head.rfind("/") + 1]


def expand_patterns(patterns: list[str], filesystem: FileSystem | None = None) -> list[tuple[str, str]]:
    """``(path, file_key)`` for every file the patterns match, in pattern order, each path once.

    ``file_key`` is the path relative to its pattern's non-glob directory, so record ids do not
    depend on where the data is checked out. ``filesystem`` serves every pattern (default: each
    pattern's own, :func:`filesystem_for`); a pattern that matches nothing raises
    FileNotFoundError naming it, a local directory given as a path IsADirectoryError (it would
    fail when read).
    """
    files: dict[str, str] = {}
    for pattern in patterns:
        try:
            matched = sorted((filesystem or filesystem_for(pattern)).match(pattern))
        except OSError as exc:  # BeamIOError subclasses IOError
            raise FileNotFoundError(f"input pattern {pattern!r} cannot be listed: {exc}") from exc
        if not matched:
            raise FileNotFoundError(f"input pattern {pattern!r} matches no file")
        if matched == [pattern] and "://" not in pattern and os.path.isdir(pattern):  # a plain path matches itself
            raise IsADirectoryError(f"input pattern {pattern!r} is a directory; name its files (e.g. {pattern.rstrip('/')}/*.txt)")
        root = pattern_root(pattern.replace("\\", "/"))
        for path in matched:
            posix = path.replace("\\", "/")
            key = posix[len(root) :] if posix.startswith(root) else posixpath.basename(posix)
            files.setdefault(path, key)
    return list(files.items())


def check_input_files(reader: object, patterns: list[str], filesystem: FileSystem | None = None) -> None:
    """Raise FileNotFoundError when a pattern matches no file or a pair's other side is missing
    (Moses readers name it with ``target_path``), IsADirectoryError when it names a directory:
    what a recipe checks before the run."""
    found = expand_patterns(patterns, filesystem)
    target_path = getattr(reader, "target_path", None)
    missing = [
        target_path(path)
        for path, _ in found
        if target_path and not (filesystem or filesystem_for(target_path(path))).exists(target_path(path))
    ]
    if missing:
        raise FileNotFoundError(f"the other side of a pair is missing: {', '.join(missing)}")
