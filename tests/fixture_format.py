"""The fixture format: `x.py` beside `x.expected`, one `row:col CODE message` a line (blank lines
and `#` comments ignored; an empty file means "no findings")."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_scripts() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))


def read_expected(script: Path) -> list[str]:
    expected = script.with_suffix(".expected")
    lines = expected.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def format_diagnostic(row: int, column: int, code: str, message: str) -> str:
    return f"{row}:{column} {code} {message}"


def current(script: Path) -> list[str]:
    """What freezelint reports on a fixture now (verified, with the user's table cache), in the
    fixture format."""
    from freezelint.checking.checker import check_source
    from freezelint.model.cache import TableCache, default_cache_dir
    from freezelint.model.resolve import Verifier

    text = script.read_text(encoding="utf-8")
    verifier = Verifier(TableCache(default_cache_dir()))
    return [
        format_diagnostic(d.row, d.column, d.code, d.message)
        for d in check_source(text, str(script), None, verifier)
    ]


def fixed(script: Path, unsafe: bool = False) -> str:
    """The script after `freezelint check --fix` (safe fixes, verified; `--unsafe-fixes` too
    with `unsafe`)."""
    from freezelint.fixing.loop import fix_source
    from freezelint.model.cache import TableCache, default_cache_dir
    from freezelint.model.resolve import Verifier

    text = script.read_text(encoding="utf-8")
    verifier = Verifier(TableCache(default_cache_dir()))
    return fix_source(text, str(script), None, verifier, unsafe=unsafe).text


if __name__ == "__main__":
    # `python -m tests.fixture_format [--write] fixtures/FRZ002/x.py ...`: print what freezelint
    # reports, to review by hand; `--write` then stores it as the `.expected` beside each script.
    import sys

    write = "--write" in sys.argv
    for arg in (a for a in sys.argv[1:] if a != "--write"):
        lines = current(Path(arg))
        print(f"== {arg}")
        for line in lines:
            print(line)
        if write:
            Path(arg).with_suffix(".expected").write_text(
                "".join(f"{line}\n" for line in lines), encoding="utf-8"
            )
            original = Path(arg).read_text(encoding="utf-8")
            safe, unsafe = fixed(Path(arg)), fixed(Path(arg), unsafe=True)
            for suffix, after, base in (
                (".fixed", safe, original),
                (".unsafe-fixed", unsafe, safe),
            ):
                target = Path(arg).with_suffix(suffix)
                if after != base:
                    target.write_text(after, encoding="utf-8")
                elif target.exists():
                    target.unlink()
