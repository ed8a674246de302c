"""The command line: `freezelint check`, `freezelint rules`, `freezelint rule CODE`.

Exit codes follow ruff: 0 no findings, 1 findings (FRZ000 included), 2 usage, configuration or
internal error (a missing path is one).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import sys
import tempfile
import tokenize
import traceback
from pathlib import Path

import click

from freezelint import __version__, report
from freezelint import config as config_module
from freezelint.config import Config, ConfigError
from freezelint.diagnostics import Diagnostic, Severity
from freezelint.files import iter_files, might_freeze, read_source
from freezelint.rules import CODES

_CODE_PREFIX = re.compile(r"^FRZ\d{0,3}$")
SYNTAX_ERROR = "FRZ000"


def parse_codes(value: str | None) -> list[str]:
    return [v.strip().upper() for v in (value or "").split(",") if v.strip()]


def selected_codes(
    select: list[str], ignore: list[str], extend: list[str] | None = None
) -> set[str]:
    extend = extend or []
    for entry in (*select, *ignore, *extend):
        if entry != "ALL" and not _CODE_PREFIX.match(entry):
            raise click.UsageError(
                f"unknown rule selector `{entry}` (use codes like FRZ003, "
                f"prefixes like FRZ00, or ALL)"
            )
    chosen = {c for c in CODES if not select or any(s == "ALL" or c.startswith(s) for s in select)}
    chosen |= {c for c in CODES if any(s == "ALL" or c.startswith(s) for s in extend)}
    return {c for c in chosen if not any(i == "ALL" or c.startswith(i) for i in ignore)}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="freezelint")
def cli() -> None:
    """Find layer-freezing mistakes in PyTorch fine-tuning scripts."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", help="Comma-separated rule codes or prefixes to enable (default: ALL).")
@click.option("--extend-select", help="Rule codes or prefixes to enable on top of the selection.")
@click.option("--ignore", help="Comma-separated rule codes or prefixes to disable.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this pyproject.toml or freezelint.toml.",
)
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--exclude", multiple=True, help="Extra gitignore-style patterns to skip.")
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
def check(
    paths: tuple[str, ...],
    select: str | None,
    extend_select: str | None,
    ignore: str | None,
    config_path: Path | None,
    isolated: bool,
    exclude: tuple[str, ...],
    cache_dir: Path | None,
    no_cache: bool,
    verify: bool,
    statistics: bool,
    exit_zero: bool,
    output_file: Path | None,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    output_format: str,
) -> None:
    """Check Python files (default: the current directory) for freezing mistakes."""
    config = load_config(paths, config_path, isolated)
    codes = selected_codes(
        parse_codes(select) if select is not None else (config.select or []),
        [*config.ignore, *parse_codes(ignore)],
        [*config.extend_select, *parse_codes(extend_select)],
    )
    cache_dir = cache_dir or config.cache_dir
    aliases = config.model_aliases
    verifier = None
    if verify:
        from freezelint.verify.cache import TableCache, default_cache_dir
        from freezelint.verify.resolve import Verifier

        verifier = Verifier(None if no_cache else TableCache(cache_dir or default_cache_dir()))
    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    failed = False
    changed = fixed = 0
    excluded = [*config.exclude, *exclude]
    targets = list(iter_files(paths or (".",), exclude=excluded, exclude_base=config.root))
    progress = sys.stderr.isatty() and len(targets) >= 50
    for position, found in enumerate(targets, start=1):
        if progress:
            click.echo(f"\rChecking {position}/{len(targets)} files", err=True, nl=False)
        if found.error is not None:
            click.echo(f"error: {found.display}: {found.error}", err=True)
            failed = True
            continue
        text, raw, error = read_source(found.path)
        if text is None:
            if error and ("binary" in error or "decode" in error):
                if SYNTAX_ERROR in codes:
                    diagnostics.append(
                        Diagnostic(
                            SYNTAX_ERROR,
                            f"cannot parse: {error}",
                            found.display,
                            1,
                            1,
                            1,
                            1,
                            Severity.ERROR,
                        )
                    )
            else:
                click.echo(f"error: {found.display}: {error}", err=True)
                failed = True
            continue
        if not might_freeze(raw):
            continue
        from freezelint.checker import check_source  # libcst loads only when a file needs it

        notebook = None
        if found.path.suffix == ".ipynb":
            from freezelint.notebooks import Notebook, NotebookError

            try:
                notebook = Notebook.parse(raw)
            except NotebookError as error:
                diagnostics.append(
                    Diagnostic(
                        SYNTAX_ERROR,
                        f"cannot parse: {error}",
                        found.display,
                        1,
                        1,
                        1,
                        1,
                        Severity.ERROR,
                    )
                )
                continue
            text = notebook.text

        try:
            if fix or diff:
                from freezelint.fixes import fix_source

                result = fix_source(
                    text,
                    found.display,
                    file_codes(codes, config, found.display),
                    verifier,
                    unsafe_fixes,
                    aliases,
                    notebook.line_label if notebook is not None else str,
                )
                if result.text != text:
                    changed += 1
                    fixed += result.fixed
                    before, after = raw.decode("utf-8", "replace"), result.text
                    if notebook is not None:
                        after = notebook.with_code(result.text).decode("utf-8")
                    else:
                        before = text
                    if diff:
                        click.echo(unified_diff(found.display, before, after), nl=False)
                    elif notebook is not None:
                        write_atomically(found.path, b"", after)
                    else:
                        write_atomically(found.path, raw, after)
                    text = result.text
                found_here = result.remaining
            else:
                found_here = check_source(
                    text,
                    found.display,
                    file_codes(codes, config, found.display),
                    verifier,
                    aliases,
                    notebook.line_label if notebook is not None else str,
                )
        except Exception:  # one file's internal error must not stop the run
            click.echo(
                f"error: internal error while checking {found.display}; please report "
                f"it:\n{traceback.format_exc()}",
                err=True,
            )
            failed = True
            continue
        if notebook is not None:
            found_here = [notebook.locate(d) for d in found_here]
        elif found_here:
            sources[found.display] = text
        diagnostics.extend(found_here)
    if progress:
        click.echo("\r\x1b[K", err=True, nl=False)  # clear the progress line
    diagnostics.sort(key=Diagnostic.sort_key)
    if diff:
        if failed:
            sys.exit(2)
        sys.exit(1 if changed else 0)
    out = output_file.open("w", encoding="utf-8") if output_file else sys.stdout
    try:
        if statistics:
            out.write((report.statistics(diagnostics) or "All checks passed!") + "\n")
        else:
            report.write(
                out, diagnostics, output_format, sources, fixed if fix else None, unsafe_fixes
            )
    finally:
        if output_file:
            out.close()
    if verifier is not None and verifier.unverified and output_format == "full":
        count = len(verifier.unverified)
        click.echo(f"{count} model{'s' if count != 1 else ''} could not be verified:", err=True)
        for label, reason in sorted(verifier.unverified.items()):
            click.echo(f"  {label}: {reason}", err=True)
    if failed:
        sys.exit(2)
    sys.exit(1 if diagnostics and not exit_zero else 0)


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


def file_codes(codes: set[str], config: Config, path: str) -> set[str]:
    ignored = config.ignored_for(path)
    if not ignored:
        return codes
    return {c for c in codes if not any(i == "ALL" or c.startswith(i) for i in ignored)}


def unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), path, path
    )
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)


def write_atomically(path: Path, raw: bytes, text: str) -> None:
    """Write `text` where `raw` was read: same encoding (BOM included), same file mode; a
    temporary file renamed over the original, so a reader never sees half a file."""
    encoding, _ = tokenize.detect_encoding(iter(raw.splitlines(keepends=True)).__next__)
    data = text.encode(encoding)
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
    click.echo(f"{'code':<8}{'name':<36}{'severity':<10}{'fix':<16}summary")
    for row in rows:
        click.echo(
            f"{row['code']:<8}{row['name']:<36}{row['severity']:<10}{row['fix']:<16}"
            f"{row['summary']}"
        )


@cli.command()
@click.argument("code")
def rule(code: str) -> None:
    """Explain one rule (by code or name): what it does, why it is bad, example, fix."""
    wanted = code.strip()
    rules = _rules()
    found = rules.get(wanted.upper()) or next(
        (r for r in rules.values() if r.name == wanted.lower()), None
    )
    if found is None:
        raise click.UsageError(f"unknown rule `{code}`; `freezelint rules` lists them")
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
    from freezelint.verify import inspect as inspection
    from freezelint.verify.cache import TableCache, default_cache_dir
    from freezelint.verify.resolve import resolve
    from freezelint.verify.spec import VerifySpec

    try:
        wanted = VerifySpec.parse(spec, num_classes)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    cache = None if no_cache else TableCache(cache_dir or default_cache_dir())
    result = resolve([wanted], cache)[wanted]
    if not hasattr(result, "params"):
        raise click.ClickException(f"{wanted.label()}: {result.reason}")  # type: ignore[union-attr]
    data = inspection.report(result, depth)  # type: ignore[arg-type]
    click.echo(json.dumps(data, indent=2) if output_format == "json" else inspection.text(data))


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=str))
def events(path: str) -> None:
    """Print the freezing timeline freezelint extracts from a file (for debugging)."""
    from freezelint.explain import describe

    text, _, error = read_source(Path(path))
    if text is None:
        raise click.ClickException(f"{path}: {error}")
    try:
        click.echo("\n".join(describe(text)))
    except Exception as exc:  # a syntax error, mostly
        raise click.ClickException(f"{path}: {exc}") from exc


def main() -> None:
    cli(prog_name="freezelint")
