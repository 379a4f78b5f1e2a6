"""The ``corpusforge`` command: run a recipe, run the embedded demo, inspect an output."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from importlib import resources
from pathlib import Path

import yaml

from corpusforge import __version__
from corpusforge.config import ConfigError, load_recipe

RUNNER_HELP = "YAML file of Beam pipeline options (see configs/runners/); default: the local DirectRunner"


def runner_args(path: str | None) -> list[str]:
    """Beam options from a runner file (``key: value`` -> ``--key=value``); lists repeat the flag."""
    if path is None:
        return ["--runner=DirectRunner"]
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
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


def job_arguments(prog: str, description: str | None, argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Command line of a job module (``python -m corpusforge.pipelines.X CONFIG [--set k=v] [beam
    options]``): its arguments and the Beam options it passes through; sets up logging."""
    parser = argparse.ArgumentParser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="the job's YAML config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (dotted path, YAML value)")
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    return args, beam_args


def packaged(relative: str) -> str:
    return str(resources.files("corpusforge.configs") / relative)


def _run(recipe_path: str, overrides: list[str], beam_args: list[str]) -> int:
    from corpusforge.pipelines.corpus import prepare_output, run

    recipe = load_recipe(recipe_path, overrides)
    prepare_output(recipe)
    print(f"corpusforge {__version__}: recipe {recipe.spec.name} ({recipe.recipe_hash}) -> {recipe.output_dir}", file=sys.stderr)
    started = time.monotonic()
    run(recipe, beam_args)
    return report_run(recipe.output_dir, started)


def report_run(output_dir: str, started: float) -> int:
    """Print a finished job's counts per source from its manifest; the exit status: 1 when
    the manifest does not balance (rows unaccounted for), else 0."""
    from corpusforge.beam.read import beam_open
    from corpusforge.manifest import load_manifest, summary_table

    manifest = load_manifest(output_dir, beam_open)  # gs:// too
    print(summary_table(manifest))
    print(f"\nwrote {output_dir} in {time.monotonic() - started:.1f} s; manifest: {output_dir}/_manifest.json")
    if not manifest["balanced"]:
        print("ERROR: the manifest does not balance (read + created != written + rejected + duplicates)", file=sys.stderr)
        return 1
    return 0


def cmd_run(args, beam_args) -> int:
    return _run(args.recipe, args.set, runner_args(args.runner_config) + beam_args)


def cmd_demo(args, beam_args) -> int:
    overrides = [f"output.path={args.output}", "output.overwrite=true", *args.set]
    return _run(packaged("recipes/demo.yaml"), overrides, runner_args(args.runner_config) + beam_args)


def cmd_inspect(args, beam_args) -> int:
    from corpusforge.inspection import describe_output

    print(describe_output(args.output_dir, rows=args.rows))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="corpusforge",
        description="Build multilingual and code-switched corpora with Apache Beam: "
        "read, normalise, deduplicate and write sharded Parquet with a balanced manifest.",
        epilog="Options the command does not know are passed to Beam (e.g. --direct_num_workers=4).",
    )
    top.add_argument("--version", action="version", version=f"corpusforge {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a recipe (configs/recipes/*.yaml)", description="Run a recipe on a Beam runner.")
    run.add_argument("recipe", help="path to the recipe YAML")
    run.add_argument("--runner-config", help=RUNNER_HELP)
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key (dotted path, YAML value); repeatable")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="run the demo recipe on the sample the package embeds", description="Run the embedded demo end to end and print the per-source summary.")
    demo.add_argument("--output", default="corpusforge-demo", help="output directory (replaced if it exists); default: %(default)s")
    demo.add_argument("--runner-config", help=RUNNER_HELP)
    demo.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a demo recipe key")
    demo.set_defaults(func=cmd_demo)

    inspect = sub.add_parser("inspect", help="show an output's schema, counts per language and source, sample rows and manifest", description="Describe a corpusforge output directory.")
    inspect.add_argument("output_dir")
    inspect.add_argument("--rows", type=int, default=5, help="sample rows per output (default: %(default)s)")
    inspect.set_defaults(func=cmd_inspect)
    return top


def main(argv: list[str] | None = None) -> int:
    args, beam_args = parser().parse_known_args(argv)
    unknown = [a for a in beam_args if not a.startswith("--")]
    if unknown:
        parser().error(f"unexpected arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    try:
        return args.func(args, beam_args)
    except ConfigError as exc:
        print(f"corpusforge: configuration error:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
