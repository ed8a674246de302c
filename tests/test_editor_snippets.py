"""The editor set-up snippets in README.md ("In the editor") are taken out of the README and
checked as far as this machine allows without the editors: the VS Code settings parse as JSON
and the Helix configuration as TOML, the Neovim `cmd` is read with a regular expression, every
setting they pass is one the server knows, and the command line each one starts is started for
real and answers an LSP initialize handshake as freezelint, then shuts down cleanly."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from freezelint.frontends.lsp.settings import Settings
from tests.lsp_client import serving

README = Path(__file__).resolve().parent.parent / "README.md"


def _editor_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## In the editor\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## In the editor' section"
    return match.group(1)


def snippet(heading: str, language: str) -> str:
    """The first fenced code block of `language` under the `### heading...` subsection."""
    section = _editor_section()
    match = re.search(
        rf"^### {re.escape(heading)}[^\n]*\n(.*?)(?=^### |\Z)", section, re.MULTILINE | re.DOTALL
    )
    assert match, f"no '### {heading}' subsection under 'In the editor'"
    block = re.search(rf"^```{language}\n(.*?)^```", match.group(1), re.MULTILINE | re.DOTALL)
    assert block, f"no ```{language} block under '### {heading}'"
    return block.group(1)


def vscode() -> dict:
    return json.loads(snippet("VS Code", "json"))  # pure JSON: no comments to strip


def helix() -> dict:
    return tomllib.loads(snippet("Helix", "toml"))


def neovim() -> str:
    return snippet("Neovim", "lua")


def lua_strings(table: str) -> list[str]:
    return [a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", table)]


def lua_scalars(table: str) -> dict[str, object]:
    """`key = value` pairs of a flat Lua table whose values are booleans, integers or strings."""
    values: dict[str, object] = {}
    for key, value in re.findall(r"""(\w+)\s*=\s*(true|false|\d+|'[^']*'|"[^"]*")""", table):
        if value in ("true", "false"):
            values[key] = value == "true"
        elif value.isdigit():
            values[key] = int(value)
        else:
            values[key] = value[1:-1]
    return values


def neovim_cmd(text: str) -> list[str]:
    match = re.search(r"\bcmd\s*=\s*\{([^}]*)\}", text)
    assert match, "no `cmd = { ... }` in the Neovim snippet"
    return lua_strings(match.group(1))


def neovim_settings(text: str) -> dict[str, object]:
    """What Neovim answers for the `freezelint` section: `settings = { freezelint = {...} }`."""
    inner = re.search(r"\bsettings\s*=\s*\{\s*freezelint\s*=\s*\{([^}]*)\}", text)
    assert inner, "no `settings = { freezelint = { ... } }` in the Neovim snippet"
    return lua_scalars(inner.group(1))


def no_problems(value: object) -> None:
    settings, problems = Settings.read(value)
    assert problems == []
    assert settings != Settings(), "the snippet's settings change nothing"


# --- what each snippet says -----------------------------------------------------------------


def test_vscode_snippet() -> None:
    config = vscode()
    assert config["glspc.server.command"] == "freezelint"
    assert config["glspc.server.commandArguments"] == ["server"]
    assert config["glspc.server.languageId"] == ["python"]
    no_problems(config["glspc.server.initializationOptions"])
    on_save = config["[python]"]["editor.codeActionsOnSave"]
    assert on_save == {"source.fixAll.freezelint": "explicit"}


def test_neovim_snippet() -> None:
    text = neovim()
    assert re.search(r"vim\.lsp\.config\('freezelint',\s*\{", text)
    assert "vim.lsp.enable('freezelint')" in text
    assert neovim_cmd(text) == ["freezelint", "server"]
    filetypes = re.search(r"\bfiletypes\s*=\s*\{([^}]*)\}", text)
    assert filetypes and lua_strings(filetypes.group(1)) == ["python"]
    markers = re.search(r"\broot_markers\s*=\s*\{([^}]*)\}", text)
    assert markers and "pyproject.toml" in lua_strings(markers.group(1))
    no_problems(neovim_settings(text))


def test_helix_snippet() -> None:
    config = helix()
    server = config["language-server"]["freezelint"]
    assert server["command"] == "freezelint"
    assert server["args"] == ["server"]
    no_problems(server["config"])  # sent as initializationOptions: {"freezelint": {...}}
    no_problems(server["config"]["freezelint"])  # the workspace/configuration answer
    (python,) = [lang for lang in config["language"] if lang["name"] == "python"]
    servers = python["language-servers"]
    assert "freezelint" in servers
    assert len(servers) > 1, "freezelint goes next to an existing Python server"


def test_the_readme_keeps_the_stdin_form() -> None:
    assert "freezelint check --stdin-filename" in README.read_text(encoding="utf-8")


# --- the command each snippet starts --------------------------------------------------------


def resolve(command: list[str]) -> list[str]:
    """`freezelint` as the editor would find it: the console script of this interpreter's
    environment (where the editable install put it), else the one on PATH."""
    program, *args = command
    assert program == "freezelint"
    beside = Path(sys.executable).parent / "freezelint"
    found = str(beside) if beside.is_file() else shutil.which(program)
    if found is None:
        pytest.skip("no freezelint console script next to the interpreter or on PATH")
    return [found, *args]


def handshake(
    command: list[str], root: Path, options: object = None, settings: object = None
) -> None:
    with serving(
        root,
        options=options,
        env={"FREEZELINT_CACHE_DIR": str(root / "cache")},
        capabilities={"workspace": {"configuration": True}},
        settings=settings,
        command=resolve(command),
    ) as client:
        assert client.initialized["serverInfo"]["name"] == "freezelint"


def test_vscode_command_starts_the_server(tmp_path: Path) -> None:
    config = vscode()
    command = [config["glspc.server.command"], *config["glspc.server.commandArguments"]]
    handshake(command, tmp_path, options=config["glspc.server.initializationOptions"])


def test_neovim_command_starts_the_server(tmp_path: Path) -> None:
    text = neovim()
    handshake(neovim_cmd(text), tmp_path, settings=neovim_settings(text))


def test_helix_command_starts_the_server(tmp_path: Path) -> None:
    server = helix()["language-server"]["freezelint"]
    handshake(
        [server["command"], *server["args"]],
        tmp_path,
        options=server["config"],
        settings=server["config"]["freezelint"],
    )
