"""The command line: `freezelint check`, `freezelint rules`, `freezelint rule CODE`.

Exit codes follow ruff: 0 no findings, 1 findings (FRZ000 included), 2 usage, configuration or
internal error (a missing path is one).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from freezelint import __version__
from freezelint.findings.diagnostics import Diagnostic
from freezelint.output import report
from freezelint.run import config as config_module
from freezelint.run.config import Config, ConfigError
from freezelint.run.discovery import DiscoveredPath, iter_files
from freezelint.run.rule_codes import file_codes, parse_codes, selected_codes
from freezelint.run.runner import FileResult, Options, run_file, run_file_in_pool
from freezelint.script.source import read_source

SYNTAX_ERROR = "FRZ000"
POOL_THRESHOLD = 16  # files; fewer are checked in this process (no pool start-up cost)


class _Commands(click.Group):
    """The commands; `show` is in a module of its own, imported when it runs (or help lists
    it): a check does not pay for defining its options."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "show"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "show" and "show" not in self.commands:
            from freezelint.frontends.show import show

            self.add_command(show)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="freezelint")
def cli() -> None:
    """Find layer-freezing mistakes in PyTorch fine-tuning scripts."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--select",
    multiple=True,
    help="Comma-separated rule codes or prefixes to enable (default: ALL); may be repeated.",
)
@click.option(
    "--extend-select",
    multiple=True,
    help="Rule codes or prefixes to enable on top of the selection; may be repeated.",
)
@click.option("--ignore", multiple=True, help="Comma-separated rule codes or prefixes to disable.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this pyproject.toml or freezelint.toml.",
)
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--exclude", multiple=True, help="Extra gitignore-style patterns to skip.")
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply the excludes to files given by name too (as pre-commit gives them).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where parameter tables are cached (default: the user cache folder).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write cached parameter tables.")
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Check findings against the real model's parameter table (needs the `verify` extra).",
)
@click.option("--statistics", is_flag=True, help="Count findings by rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print the diagnostics, but no summary or notes.")
@click.option("-s", "--silent", is_flag=True, help="Print nothing (the exit code still tells).")
@click.option(
    "--exit-non-zero-on-fix",
    is_flag=True,
    help="With --fix: exit 1 when a fix was applied, even if nothing is left to report.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Check again whenever a checked file changes (until interrupted).",
)
@click.option(
    "--show-fixes",
    is_flag=True,
    help="With --fix: list the fixes applied, by file and rule; else: each finding's fix (or "
    "that it has none).",
)
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add a `# noqa: CODE` comment to each reported line instead of reporting it.",
)
@click.option("--fix", is_flag=True, help="Apply safe fixes, re-checking until none is left.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff: apply unsafe fixes too.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option(
    "--output-format",
    type=click.Choice(report.FORMATS),
    default="full",
    show_default=True,
    help="How to print diagnostics.",
)
@click.option(
    "--stdin-filename",
    help="Read the file from standard input (or `-` as the path) and report it as this path; "
    "configuration and project imports are resolved from it. With --fix, the fixed text goes "
    "to standard output and the diagnostics to standard error.",
)
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: Path | None,
    isolated: bool,
    exclude: tuple[str, ...],
    force_exclude: bool,
    cache_dir: Path | None,
    no_cache: bool,
    verify: bool,
    statistics: bool,
    exit_zero: bool,
    output_file: Path | None,
    quiet: bool,
    silent: bool,
    exit_non_zero_on_fix: bool,
    watch: bool,
    show_fixes: bool,
    add_noqa: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    output_format: str,
    stdin_filename: str | None,
) -> None:
    """Check Python files (default: the current directory) for freezing mistakes."""
    if watch:
        _watch(paths, exclude)
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("`-` (standard input) cannot be checked with other paths")
    stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    if stdin:
        paths = (stdin_filename or "-",)
    config = load_config(paths, config_path, isolated)
    if verify and not (quiet or silent) and sys.stderr.isatty():
        _announce_builds()
    codes = selected_codes(
        parse_codes(select) if select else (config.select or []),
        [*config.ignore, *parse_codes(ignore)],
        [*config.extend_select, *parse_codes(extend_select)],
    )
    cache_dir = cache_dir or config.cache_dir
    aliases = config.model_aliases
    diagnostics: list[Diagnostic] = []
    claimed: dict[tuple, str] = {}  # (path, row, column, code) -> the checked file reporting it
    sources: dict[str, str] = {}
    failed = False
    changed = fixed = 0
    fixed_by_file: dict[str, list[str]] = {}
    excluded = [*config.exclude, *exclude]
    if stdin:
        display = paths[0]
        targets = [DiscoveredPath(Path(os.path.abspath(display)), display, explicit=True)]
    else:
        targets = list(
            iter_files(
                paths or (".",),
                exclude=excluded,
                exclude_base=config.root,
                force_exclude=force_exclude,
            )
        )
    options = Options(
        verify, cache_dir, no_cache, fix, unsafe_fixes, diff, tuple(sorted(aliases.items()))
    )
    tasks = [
        (found, frozenset(file_codes(codes, config, found.display)), options) for found in targets
    ]
    progress = sys.stderr.isatty() and len(targets) >= 50
    unverified: dict[str, str] = {}
    if stdin:
        found, file_set, _ = tasks[0]
        results: Iterator[FileResult] = iter(
            [run_file(found, file_set, options, stdin=sys.stdin.buffer.read())]
        )
    else:
        results = _results(tasks)
    for position, result in enumerate(results, start=1):
        if progress:
            click.echo(f"\rChecking {position}/{len(targets)} files", err=True, nl=False)
        for line in result.errors:
            click.echo(f"error: {line}", err=True)
            failed = True
        if result.diff:
            click.echo(result.diff, nl=False)
        if result.output is not None:
            sys.stdout.write(result.output)  # stdin --fix: the text, fixed or not
            sys.stdout.flush()
        changed += result.changed
        fixed += result.fixed
        if result.fixed_codes:
            fixed_by_file[result.path] = result.fixed_codes
        unverified.update(result.unverified)
        if result.source is not None and result.diagnostics:
            sources[result.path] = result.source
        diagnostics.extend(_not_yet_reported(result, claimed))
    if progress:
        click.echo("\r\x1b[K", err=True, nl=False)  # clear the progress line
    diagnostics = _sorted_with_sources(diagnostics, sources)
    if add_noqa:
        sys.exit(_add_noqa(diagnostics, sources, failed, silent))
    if diff:
        if not changed and not silent:
            click.echo(report.nothing_to_fix(diagnostics, unsafe_fixes), err=True)
        if failed:
            sys.exit(2)
        sys.exit(1 if changed else 0)
    # With --fix on standard input, standard output carries the text: the report goes to stderr.
    stream = sys.stderr if stdin and fix else sys.stdout
    out = output_file.open("w", encoding="utf-8") if output_file else stream
    try:
        if silent or (failed and not diagnostics and output_format in ("full", "concise")):
            pass  # (after an error line, never "All checks passed!")
        elif statistics:
            out.write(report.statistics(diagnostics, output_format, quiet))
        else:
            if show_fixes and fix and fixed_by_file and output_format in ("full", "concise"):
                out.write(report.fixes_applied(fixed_by_file))
            report.write(
                out,
                diagnostics,
                output_format,
                sources,
                fixed if fix else None,
                unsafe_fixes,
                summary=not quiet,
                show_fixes=show_fixes and not fix,
            )
    finally:
        if output_file:
            out.close()
    if unverified and output_format == "full" and not (quiet or silent):
        count = len(unverified)
        click.echo(f"{count} model{'s' if count != 1 else ''} could not be verified:", err=True)
        for label, reason in sorted(unverified.items()):
            click.echo(f"  {label}: {reason}", err=True)
        click.echo(
            "Check them at run time: `freezelint.audit(model, optimizer)` in the script, or the "
            "Lightning callback `freezelint.lightning.FreezeAudit()` (README: At run time).",
            err=True,
        )
    if failed:
        sys.exit(2)
    if exit_non_zero_on_fix and fix and fixed:
        sys.exit(1)
    sys.exit(1 if diagnostics and not exit_zero else 0)


@cli.command()
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The cache to empty (default: the user cache folder).",
)
def clean(cache_dir: Path | None) -> None:
    """Remove the cached parameter tables (they are built again when needed)."""
    from freezelint.model.cache import TableCache, default_cache_dir

    folder = cache_dir or default_cache_dir()
    removed = TableCache(folder).clear()
    click.echo(f"Removed {removed} cached table{'s' if removed != 1 else ''} from {folder}")


class Failure(click.ClickException):
    """A command that could not do what it was asked (an unknown model): exit 2, as for a
    usage error; 1 means findings."""

    exit_code = 2


def _rules() -> dict:
    from freezelint.rules import RULES

    return RULES


def load_config(paths: tuple[str, ...], explicit: Path | None, isolated: bool) -> Config:
    """The configuration for this run: `--config`, else the nearest one above the first path."""
    if isolated:
        return Config()
    try:
        if explicit is not None:
            return config_module.load(explicit)
        found = config_module.find(Path(paths[0]) if paths else Path.cwd())
        return config_module.load(found) if found else Config()
    except ConfigError as error:
        raise click.UsageError(str(error)) from error


def _watch(paths: tuple[str, ...], exclude: tuple[str, ...]) -> None:
    """`--watch`: the same check (this command line without `--watch`) now and whenever a
    file it checks changes, is added or goes away; polled, so it works on every file system.
    Ends on Ctrl-C."""
    import subprocess
    import time

    if "-" in paths:
        raise click.UsageError("--watch cannot read standard input")
    argv = [a for a in sys.argv[1:] if a != "--watch"]
    command = [sys.executable, "-m", "freezelint", *argv]

    def state() -> dict[str, int]:
        out: dict[str, int] = {}
        for found in iter_files(paths or (".",), exclude=list(exclude)):
            try:
                out[str(found.path)] = found.path.stat().st_mtime_ns
            except OSError:
                continue
        return out

    try:
        click.echo(f"[{time.strftime('%H:%M:%S')}] Checking in watch mode...", err=True)
        seen = state()
        subprocess.run(command, check=False)
        while True:
            time.sleep(0.3)
            now = state()
            if now != seen:
                seen = now
                click.echo(f"[{time.strftime('%H:%M:%S')}] A file changed: checking...", err=True)
                subprocess.run(command, check=False)
    except KeyboardInterrupt:
        sys.exit(0)


def _add_noqa(
    diagnostics: list[Diagnostic], sources: dict[str, str], failed: bool, silent: bool
) -> int:
    """`--add-noqa`: write the comments into each Python file with findings; the exit code
    (0, as ruff, unless a file could not be read or written)."""
    from freezelint.fixing.noqa import add_noqa
    from freezelint.run.runner import write_atomically

    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(d.path, []).append(d)
    added = 0
    for shown, found in by_file.items():
        path = Path(shown)
        if path.suffix != ".py" or shown not in sources:
            continue  # (a notebook's cells: not written)
        text, raw, error = read_source(path)
        if text is None or error is not None or text != sources[shown]:
            continue  # (changed since it was checked)
        new, count = add_noqa(text, found)
        if count:
            try:
                write_atomically(path, raw, new)
            except OSError as exc:
                click.echo(f"error: {shown}: {exc.strerror or exc}", err=True)
                failed = True
                continue
            added += count
    if not silent:
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
    return 2 if failed else 0


def _announce_builds() -> None:
    """On a terminal, say so before a model's table is built (seconds, the first time only)."""
    from freezelint.model import resolve

    def announce(labels: list[str]) -> None:
        tables = "table" if len(labels) == 1 else "tables"
        click.echo(
            f"building the parameter {tables} of {', '.join(labels)} (first time only)...",
            err=True,
        )

    resolve.announce = announce


def _not_yet_reported(result: FileResult, claimed: dict[tuple, str]) -> list[Diagnostic]:
    """A finding in a file of the project that two checked files reach (through imports) is
    reported by the first of them only."""
    out = []
    for d in result.diagnostics:
        key = (d.path, d.row, d.column, d.code)
        if claimed.setdefault(key, result.path) == result.path:
            out.append(d)
    return out


def _sorted_with_sources(
    diagnostics: list[Diagnostic], sources: dict[str, str]
) -> list[Diagnostic]:
    """Sorted; the text of a file reported through another's imports read for code frames."""
    for d in diagnostics:
        if d.path not in sources:
            text, _, _ = read_source(Path(d.path))
            if text is not None:
                sources[d.path] = text
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _results(tasks: list) -> Iterator[FileResult]:
    """Each file's result, in order: in this process for a few files, else over a pool of
    processes (one per core)."""
    cores = os.cpu_count() or 1
    if len(tasks) < POOL_THRESHOLD or cores < 2:
        yield from (run_file(*task) for task in tasks)
        return
    # (Imported here: a run over a few files, as pre-commit's, does not pay for them.)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = None
    if sys.platform == "linux":
        # Forked workers share what this process imported: load the checker (libcst and every
        # rule) once here rather than once per worker.
        from freezelint.run.runner import preload

        preload(tasks[0][2])
        context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=cores, mp_context=context) as pool:
        yield from pool.map(run_file_in_pool, *zip(*tasks, strict=True), chunksize=8)


@cli.command()
@click.option(
    "--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def rules(output_format: str) -> None:
    """List every rule: code, name, severity, whether it needs the model, and its fix."""
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "severity": r.severity.value,
            "needs_model": r.needs_model,
            "fix": r.fix,
            "fixable": r.fixable,
            "summary": r.summary,
        }
        for r in _rules().values()
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    model = max(len(str(row["needs_model"])) for row in rows) + 2
    click.echo(
        f"{'code':<8}{'name':<36}{'severity':<10}{'fix':<16}{'needs the model':<{model}}summary"
    )
    for row in rows:
        click.echo(
            f"{row['code']:<8}{row['name']:<36}{row['severity']:<10}{row['fix']:<16}"
            f"{row['needs_model']!s:<{model}}{row['summary']}"
        )


@cli.command()
@click.argument("code", required=False)
@click.option("--all", "every", is_flag=True, help="Explain every rule.")
@click.option(
    "--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def rule(code: str | None, every: bool, output_format: str) -> None:
    """Explain one rule (by code or name), or every one (`--all`): what it does, why it is
    bad, example, fix."""
    rules = _rules()
    if every == (code is not None):
        raise click.UsageError("give a rule code or name, or --all")
    if every:
        chosen = list(rules.values())
    else:
        assert code is not None
        wanted = code.strip()
        found = rules.get(wanted.upper()) or next(
            (r for r in rules.values() if r.name == wanted.lower()), None
        )
        if found is None:
            raise click.UsageError(f"unknown rule `{code}`; `freezelint rules` lists them")
        chosen = [found]
    if output_format == "json":
        data = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "needs_model": r.needs_model,
                "fix": r.fix,
                "summary": r.summary,
                "explanation": r.doc,
            }
            for r in chosen
        ]
        click.echo(json.dumps(data if every else data[0], indent=2))
        return
    for index, found in enumerate(chosen):
        if index:
            click.echo("")
        _explain(found)


def _explain(found) -> None:
    click.echo(f"# {found.name} ({found.code})\n")
    click.echo(
        f"Severity: {found.severity.value}. Needs the model: {found.needs_model}. "
        f"Fix: {found.fix}.\n"
    )
    click.echo(found.doc)


@cli.command()
@click.argument("spec")
@click.option("--num-classes", type=int, help="Build the model with this many classes.")
@click.option("--depth", type=int, default=1, show_default=True, help="Module tree depth.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-cache", is_flag=True)
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text")
def inspect(
    spec: str,
    num_classes: int | None,
    depth: int,
    cache_dir: Path | None,
    no_cache: bool,
    output_format: str,
) -> None:
    """Show a model's modules, parameters, classifier and BatchNorm layers.

    SPEC is LIBRARY:NAME, e.g. timm:efficientnet_b0, torchvision:resnet50,
    efficientnet_pytorch:efficientnet-b0. Built on the meta device: no weights, no network.
    """
    from freezelint.model import inspect as inspection
    from freezelint.model.cache import TableCache, default_cache_dir
    from freezelint.model.resolve import resolve
    from freezelint.model.spec import VerifySpec

    try:
        wanted = VerifySpec.parse(spec, num_classes)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    cache = None if no_cache else TableCache(cache_dir or default_cache_dir())
    result = resolve([wanted], cache)[wanted]
    if not hasattr(result, "params"):
        raise Failure(f"{wanted.label()}: {result.reason}")  # type: ignore[union-attr]
    data = inspection.report(result, depth)  # type: ignore[arg-type]
    click.echo(json.dumps(data, indent=2) if output_format == "json" else inspection.text(data))


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=str))
def events(path: str) -> None:
    """Print the freezing timeline freezelint extracts from a file (for debugging)."""
    from freezelint.output.explain import describe

    text, _, error = read_source(Path(path))
    if text is None:
        raise click.ClickException(f"{path}: {error}")
    try:
        click.echo("\n".join(describe(text)))
    except Exception as exc:  # a syntax error, mostly
        raise click.ClickException(f"{path}: {exc}") from exc


@cli.command()
def server() -> None:
    """Run the language server over standard input and output (for editors: README, In the
    editor). Needs the `server` extra: pip install 'freezelint[server]'."""
    try:
        from freezelint.frontends.lsp.protocol import main as serve
    except ImportError as error:
        raise click.ClickException(
            f"the language server needs pygls ({error.name} is not installed): "
            "pip install 'freezelint[server]'"
        ) from error
    serve()


def main() -> None:
    # One short-lived process: the collector runs seldom while libcst and the checker are
    # imported and used (they allocate much and make few reference cycles, as `runner.preload`
    # says), and at the end everything is frozen, so that the interpreter's last collection on
    # the way out has nothing to walk. Both together: -10% of a one-file check's time.
    gc.set_threshold(50_000, 20, 100)
    try:
        cli(prog_name="freezelint")
    finally:
        gc.freeze()
