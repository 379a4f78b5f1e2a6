"""The ``corpusforge`` command: run or validate a recipe, run the embedded demo, list the stages
and readers a recipe may name, inspect an output or write its report. Nothing imports this module."""

from __future__ import annotations

import argparse
import os
import sys

import corpusforge.pipelines  # noqa: F401  registers Beam's filesystems, so recipes may name gs:// paths
from corpusforge import __version__
from corpusforge.config import (
    READERS,
    STAGES,
    ConfigError,
    Recipe,
    _load_class,
    load_recipe,
    options_of,
    summary_of,
)
from corpusforge.console import setup_logging
from corpusforge.progress import format_bytes
from corpusforge.runners import packaged, runner_args, runner_names

__all__ = ["main", "packaged", "runner_args"]

RUNNER_HELP = f"runner file (YAML of Beam pipeline options) or the name of one the package installs: {', '.join(runner_names())}; default: the local DirectRunner"


def _overrides(args) -> list[str]:
    return [*(["output.path=" + args.output] if getattr(args, "output", None) else []), *args.set]


def _beam_args(args, beam_args: list[str]) -> list[str]:
    return runner_args(args.runner_config) + beam_args


def cmd_run(args, beam_args) -> int:
    from corpusforge.pipelines.corpus import run_recipe

    recipe = load_recipe(args.recipe, _overrides(args))
    options = _beam_args(args, beam_args)
    if args.dry_run:
        return _print_plan(recipe, options)
    return run_recipe(recipe, options, verbose=args.verbose, progress=not args.no_progress, resume=args.resume)


def cmd_validate(args, beam_args) -> int:
    recipe = load_recipe(args.recipe, _overrides(args))
    return _print_plan(recipe, _beam_args(args, beam_args))


def _print_plan(recipe: Recipe, beam_args: list[str]) -> int:
    usable, plan = describe_plan(recipe, beam_args)
    print(plan)
    return 0 if usable else 2


def cmd_demo(args, beam_args) -> int:
    from corpusforge.pipelines.corpus import run_recipe

    overrides = [f"output.path={args.output}", "output.overwrite=true", *args.set]
    recipe = load_recipe(packaged("recipes/demo.yaml"), overrides)
    return run_recipe(recipe, _beam_args(args, beam_args), verbose=args.verbose, progress=not args.no_progress)


def cmd_inspect(args, beam_args) -> int:
    from corpusforge.inspection import describe_output
    from corpusforge.manifest import MANIFEST_NAME

    if not os.path.isdir(args.output_dir):
        raise ConfigError(f"inspect {args.output_dir}: no such directory")
    if not os.path.isfile(os.path.join(args.output_dir, MANIFEST_NAME)):
        raise ConfigError(f"inspect {args.output_dir}: not a corpusforge output (it has no {MANIFEST_NAME}; a run writes one when it ends)")
    print(describe_output(args.output_dir, rows=args.rows))
    return 0


def cmd_report(args, beam_args) -> int:
    try:
        from corpusforge.analysis.report import write_report
    except ModuleNotFoundError as exc:  # matplotlib is the report extra
        raise ConfigError(f"report needs {exc.name}: pip install 'corpusforge[report]'") from exc

    opener = creator = None
    if "://" in args.output_dir:  # gs:// and other Beam filesystems; local paths import no Beam
        from corpusforge.beam.outputs import beam_create
        from corpusforge.beam.read import beam_open

        opener, creator = beam_open, beam_create
    elif not os.path.isdir(args.output_dir):
        raise ConfigError(f"report {args.output_dir}: no such directory")
    page, report = write_report(args.output_dir, opener=opener, creator=creator)
    figures = f"{len(report.figures)} figures, also as PNG beside it" if report.figures else "no figures: no data to draw"
    print(f"report: {page} ({figures})")
    print(f"  {report.rows_scanned:,} rows scanned in {report.seconds:.1f} s; sections: {', '.join(report.sections)}")
    print("\n".join(f"  {line}" for line in report.summary))
    return 0


def cmd_stages(args, beam_args) -> int:
    print(describe_components(args.name))
    return 0


def describe_components(name: str | None = None) -> str:
    """Every stage and reader a recipe may name, with its options (type, default, doc), read
    from the same constructors the recipe validator checks against."""
    entries = [(f"stage {n}", spec, f"stages: [{{{n}: {{...}}}}]") for n, spec in STAGES.items()]
    entries += [
        (f"reader {fmt} ({kind})", spec, f"inputs: [{{format: {fmt}, kind: {kind}, options: {{...}}}}]")
        for (fmt, kind), spec in READERS.items()
    ]
    if name is not None:
        chosen = [e for e in entries if e[0].split(" ")[1] == name]
        if not chosen:
            names = sorted({e[0].split(" ")[1] for e in entries})
            raise ConfigError(f"stages {name}: no stage or reader format of that name; names: {', '.join(names)}")
        entries = chosen
    blocks = []
    for title, spec, usage in entries:
        cls = _load_class(spec)
        lines = [f"{title}  ({usage})", f"  {summary_of(cls)}"]
        for option in options_of(cls):
            default = "required" if option.default is None else f"default {option.default}"
            lines.append(f"  - {option.name}: {option.type}, {default}")
            if option.doc and name is not None:
                lines.append(f"      {option.doc}")
        blocks.append("\n".join(lines))
    hint = "" if name else "\n\n`corpusforge stages NAME` adds each option's documentation."
    return "\n\n".join(blocks) + hint


def describe_plan(recipe: Recipe, beam_args: list[str]) -> tuple[bool, str]:
    """What a run of ``recipe`` would do: inputs and the files they match, the stages per
    record kind, the output layout and the runner; nothing is read or written. False when the
    run would refuse its output directory."""
    from corpusforge.beam.jobs import input_sizes
    from corpusforge.pipelines.corpus import KINDS_IN_ORDER, output_state

    lines = [f"recipe {recipe.spec.name} ({recipe.recipe_hash}): valid", "", "inputs:"]
    for spec in recipe.inputs:
        sizes = input_sizes(spec.patterns)  # each input's own files, matched as the run matches them
        files = list(sizes)
        total = sum(sizes.values())
        lines.append(f"  {spec.name}: {spec.spec.format} -> {spec.kind}, {len(files)} file(s), {format_bytes(total)}")
        lines += [f"    {f}" for f in files[:5]] + ([f"    ... {len(files) - 5} more"] if len(files) > 5 else [])
    lines.append("")
    lines.append("stages:")
    for kind in KINDS_IN_ORDER:
        stages = [s.name + (f" (creates {s.derives} records)" if s.derives else "") for s in recipe.stages_for(kind)]
        if stages:
            lines.append(f"  {kind}: {' -> '.join(stages)}")
    lines.append(f"  dedup: {recipe.spec.dedup.scope}")
    out = recipe.spec.output
    layout = f"shard_count {out.shard_count}" if out.shard_count else f"shards of ~{format_bytes(out.target_shard_bytes)}"
    partition = f", partitioned by {out.partition_by}" if out.partition_by else ""
    usable, state = output_state(recipe)
    lines += ["", f"output: {recipe.output_dir} ({layout}{partition})", f"  {state}"]
    lines.append(f"runner: {' '.join(beam_args)}")
    return usable, "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    # allow_abbrev=False everywhere: Beam options pass through exactly as Beam spells them
    # (``--runner=...`` must not be read as an abbreviation of ``--runner-config``).
    top = argparse.ArgumentParser(
        prog="corpusforge",
        description="Build multilingual and code-switched corpora with Apache Beam: "
        "read, normalise, deduplicate and write sharded Parquet with a balanced manifest.",
        epilog="Options the command does not know are passed to Beam (e.g. --direct_num_workers=4).",
        allow_abbrev=False,
    )
    top.add_argument("--version", action="version", version=f"corpusforge {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def recipe_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("recipe", help="path to the recipe YAML")
        p.add_argument("--output", help="output directory (sets output.path)")
        p.add_argument("--runner-config", help=RUNNER_HELP)
        p.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key (dotted path, YAML value); repeatable"
        )

    def run_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("-v", "--verbose", action="store_true", help="show Beam's and the workers' logs")
        p.add_argument("--no-progress", action="store_true", help="no live progress display (no progress lines either)")

    run = sub.add_parser(
        "run", help="run a recipe (configs/recipes/*.yaml)", description="Run a recipe on a Beam runner.", allow_abbrev=False
    )
    recipe_options(run)
    run_options(run)
    run.add_argument("--dry-run", action="store_true", help="check the recipe and print the plan, as `validate` does")
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the killed run in the output directory: inputs it staged completely are not read again (README: Resuming)",
    )
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser(
        "validate",
        help="check a recipe and print the plan without running it",
        description="Load and check a recipe, then print its plan: inputs and matched files, stages per kind, output layout.",
        allow_abbrev=False,
    )
    recipe_options(validate)
    validate.set_defaults(func=cmd_validate)

    demo = sub.add_parser(
        "demo",
        help="run the demo recipe on the sample the package embeds",
        description="Run the embedded demo end to end and print the per-source summary.",
        allow_abbrev=False,
    )
    demo.add_argument(
        "--output",
        default="corpusforge-demo",
        help="output directory (an earlier corpusforge output there is replaced; anything else is refused); default: %(default)s",
    )
    demo.add_argument("--runner-config", help=RUNNER_HELP)
    demo.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a demo recipe key")
    run_options(demo)
    demo.set_defaults(func=cmd_demo)

    stages = sub.add_parser(
        "stages",
        help="list the stages and readers a recipe may name, with their options",
        description="Stages and readers with their options, types and defaults.",
        allow_abbrev=False,
    )
    stages.add_argument("name", nargs="?", help="one stage (e.g. lid) or reader format (e.g. jsonl): adds each option's documentation")
    stages.set_defaults(func=cmd_stages)

    inspect = sub.add_parser(
        "inspect",
        help="show an output's schema, counts per language and source, sample rows and manifest",
        description="Describe a corpusforge output directory.",
        allow_abbrev=False,
    )
    inspect.add_argument("output_dir")
    inspect.add_argument("--rows", type=int, default=5, help="sample rows per output (default: %(default)s)")
    inspect.set_defaults(func=cmd_inspect)

    report = sub.add_parser(
        "report",
        help="write OUTPUT_DIR/report/report.html: one self-contained page with tables and figures",
        description="Write a self-contained HTML report of an output (local or gs://) with its figures as PNG beside it.",
        allow_abbrev=False,
    )
    report.add_argument("output_dir")
    report.set_defaults(func=cmd_report)
    return top


def main(argv: list[str] | None = None) -> int:
    args, beam_args = parser().parse_known_args(argv)
    unknown = [a for a in beam_args if not a.startswith("--")]
    if unknown:
        parser().error(f"unexpected arguments: {' '.join(unknown)}")
    if beam_args and args.command in ("stages", "inspect", "report"):
        parser().error(f"unexpected arguments: {' '.join(beam_args)}")
    setup_logging(getattr(args, "verbose", False), sys.stderr)
    try:
        return args.func(args, beam_args)
    except ConfigError as exc:
        print(f"corpusforge: configuration error:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
