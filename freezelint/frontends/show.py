"""`freezelint show FILE`: the trainability map of a script (issue 26), what each optimizer it
builds will really train, as text, JSON or one HTML page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from freezelint.run import config as config_module
from freezelint.run.config import ConfigError


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output-format",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="`html`: one self-contained page (to a file with -o).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--path",
    "path_number",
    type=int,
    default=1,
    show_default=True,
    help="Which path to show where the code leaves branches open.",
)
@click.option("--at", "at_line", type=int, help="As things are right after this line first runs.")
@click.option("--depth", type=int, help="Expand the module tree this many levels at most.")
@click.option("--model", help="Only the model the script names so (`model`, `self.backbone`).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--no-verify", is_flag=True, help="No parameter tables: parts as the script names them."
)
def show(
    file: Path,
    output_format: str,
    output: Path | None,
    path_number: int,
    at_line: int | None,
    depth: int | None,
    model: str | None,
    cache_dir: Path | None,
    no_verify: bool,
) -> None:
    """Show what each optimizer FILE builds will really train: the module tree of each model
    it draws from, each module frozen, trained (in which param group, at which lr), trainable
    but in no optimizer, or frozen but handed to the optimizer."""
    from freezelint.checking.trainability import trainability
    from freezelint.output import trainability_map as draw
    from freezelint.output.report import painter
    from freezelint.script.source import read_source

    if path_number < 1:
        raise click.UsageError("--path counts from 1")
    try:
        found = config_module.find(file)
        config = config_module.load(found) if found else config_module.Config()
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    text, raw, why = read_source(file)
    if text is None:
        raise click.UsageError(f"cannot read {file}: {why}")
    label = str
    if file.suffix == ".ipynb":  # (the program its code cells make, lines named by cell)
        from freezelint.run.notebooks import Notebook, NotebookError

        try:
            notebook = Notebook.parse(raw)
        except NotebookError as problem:
            raise click.UsageError(f"cannot read {file}: {problem}") from problem
        text, label = notebook.text, notebook.line_label
    else:
        from freezelint.run.ipython_lines import IPythonExport

        export = IPythonExport.of(text)  # (`!pip install ...` lines of an exported notebook)
        text = export.text if export is not None else text
    verifier = None
    if not no_verify:
        from freezelint.model.cache import TableCache, default_cache_dir
        from freezelint.model.resolve import Verifier

        verifier = Verifier(TableCache(cache_dir or config.cache_dir or default_cache_dir()))
    import libcst as cst

    try:
        maps = trainability(text, str(file), verifier, path_number - 1, at_line, label)
    except cst.ParserSyntaxError as error:
        click.echo(
            f"{file}:{error.raw_line}:{error.raw_column + 1}: syntax error: nothing to show",
            err=True,
        )
        sys.exit(1)
    except RecursionError:
        click.echo(f"{file}: too deeply nested to parse: nothing to show", err=True)
        sys.exit(1)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        if output_format == "json":
            draw.write_json(out, maps, label)
        elif output_format == "html":
            draw.write_html(out, maps, file.name, label)
        else:
            draw.write_text(out, maps, painter(out), depth, model, label)
    finally:
        if output:
            out.close()
