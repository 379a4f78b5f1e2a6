"""Runner files: YAML mappings of Beam pipeline options, by path or by the name of one the
package installs (``local``, ``dataflow``, ``flink``, ``portable-embed``). No Beam import."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from corpusforge.config import ConfigError

DEFAULT_ARGS = ("--runner=DirectRunner",)


def packaged(relative: str) -> str:
    """A file the package installs under ``corpusforge/configs`` (recipes, runner files)."""
    return str(resources.files("corpusforge.configs") / relative)


def runner_names() -> list[str]:
    """Names of the runner files the package installs."""
    folder = resources.files("corpusforge.configs") / "runners"
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def resolve_runner_file(value: str) -> str:
    """A runner file's path: ``value`` itself when it names a file, else the packaged file of
    that name (``local`` -> configs/runners/local.yaml); ConfigError listing the names otherwise."""
    if Path(value).is_file():
        return value
    stem = Path(value).name.removesuffix(".yaml")
    if stem in runner_names() and (value == stem or not Path(value).exists()):
        return packaged(f"runners/{stem}.yaml")
    if Path(value).exists():
        raise ConfigError(f"--runner-config {value}: is not a file")
    raise ConfigError(f"--runner-config {value}: no such file and no runner of that name; names: {', '.join(runner_names())}")


def runner_args(path: str | None) -> list[str]:
    """Beam options from a runner file or name (``key: value`` -> ``--key=value``; lists repeat
    the flag; booleans are ``--key`` / ``--no_key``); the local DirectRunner when None."""
    if path is None:
        return list(DEFAULT_ARGS)
    path = resolve_runner_file(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"runner file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"runner file {path} must be a mapping of Beam pipeline options")
    args = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                args.append(f"--{key}" if item else f"--no_{key}")
            else:
                args.append(f"--{key}={item}")
    return args
