"""`freezelint server` driven over stdio by a minimal LSP client, as an editor drives it:
diagnostics on open, change and save, the same codes and places `freezelint check` reports;
quick fixes whose edits are the CLI's fixes; fix-all equal to `check --fix`; settings and
configuration files re-read; notebook cells; models verified in the background."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.lsp_client import Client, apply_edits, serving

pytest.importorskip("pygls")

FROZEN_ATTRIBUTE = """\
import torch
import torch.nn as nn
import torchvision

model = torchvision.models.resnet18(weights="DEFAULT")
model.fc = nn.Linear(512, 5)
for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.requires_grad = False
optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
"""

TIMM_FC = """\
import timm
import torch

model = timm.create_model("efficientnet_b0", pretrained=True, num_classes=5)
for name, param in model.named_parameters():
    if "fc" not in name:
        param.requires_grad = False
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
"""

ZERO_LR = """\
import torch
import torchvision

model = torchvision.models.resnet18(weights="DEFAULT")
model.requires_grad_(False)
model.fc.requires_grad_(True)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01)
optimizer.add_param_group({"params": model.layer4.parameters(), "lr": 0})
"""


def cli_json(path: Path, cache: Path, *args: str) -> list[dict]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "freezelint", "check", "--output-format", "json"),
            *("--cache-dir", str(cache), *args, str(path)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def cli_fix(path: Path, cache: Path) -> str:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "freezelint", "check", "--fix", "--cache-dir", str(cache)),
            *("--stdin-filename", str(path), "-"),
        ],
        input=path.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def lsp_range(row: int, column: int, end_row: int, end_column: int) -> dict:
    return {
        "start": {"line": row - 1, "character": column - 1},
        "end": {"line": end_row - 1, "character": end_column - 1},
    }


def cli_edits(edits: list[dict]) -> list[dict]:
    """The CLI's fix edits (1-based rows and columns) as LSP text edits."""
    return [
        {
            "range": lsp_range(
                e["location"]["row"],
                e["location"]["column"],
                e["end_location"]["row"],
                e["end_location"]["column"],
            ),
            "newText": e["content"],
        }
        for e in edits
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def server(project: Path, cache_dir: Path) -> Iterator[Client]:
    with serving(
        project,
        options={"cacheDir": str(cache_dir)},
        capabilities={"workspace": {"workspaceEdit": {}}},
    ) as client:
        yield client


def open_script(client: Client, project: Path, text: str) -> tuple[Path, str]:
    """`train.py` in the project, written and opened in the editor."""
    path = project / "train.py"
    path.write_text(text, encoding="utf-8")
    return path, client.open(path)


def edits_of(action: dict, uri: str) -> list[dict]:
    edit = action["edit"]
    if "documentChanges" in edit:
        return [e for change in edit["documentChanges"] for e in change["edits"]]
    return edit["changes"][uri]


def code_actions(client: Client, uri: str, where: dict, only: list[str] | None = None) -> list:
    context: dict = {"diagnostics": []}
    if only is not None:
        context["only"] = only
    params = {"textDocument": {"uri": uri}, "range": where, "context": context}
    return client.request("textDocument/codeAction", params)


def test_the_end_of_a_text_is_on_its_last_line_unless_a_newline_ends_it() -> None:
    from lsprotocol.types import Position

    from freezelint.frontends.lsp.locations import Located

    assert Located("x = 1").at(5) == Position(0, 5)
    assert Located("x = 1\n").at(6) == Position(1, 0)
    assert Located("x = 1\r\ny").at(8) == Position(1, 1)
    assert Located("").at(0) == Position(0, 0)


# --- the handshake -------------------------------------------------------------------------


def test_initialize_advertises_what_the_server_does(project: Path) -> None:
    with serving(project, capabilities={"notebookDocument": {"synchronization": {}}}) as client:
        answer = client.initialized
        assert answer["serverInfo"]["name"] == "freezelint"
        capabilities = answer["capabilities"]
        assert capabilities["textDocumentSync"]["change"] == 1  # the whole text
        assert capabilities["textDocumentSync"]["save"] is not None
        kinds = capabilities["codeActionProvider"]["codeActionKinds"]
        assert kinds == ["quickfix", "source.fixAll.freezelint"]
        selector = capabilities["notebookDocumentSync"]["notebookSelector"][0]
        assert selector["cells"] == [{"language": "python"}]


def test_without_pygls_the_command_says_how_to_install_it() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['pygls'] = None; sys.argv = ['freezelint', 'server']; "
            "from freezelint.frontends.cli import main; main()",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "pip install 'freezelint[server]'" in done.stderr


# --- diagnostics ---------------------------------------------------------------------------


def test_diagnostics_on_open_are_what_the_cli_reports(
    server: Client, project: Path, cache_dir: Path
) -> None:
    path, uri = open_script(server, project, TIMM_FC)
    published = server.diagnostics(uri, version=1)
    expected = cli_json(path, cache_dir)
    assert [d["code"] for d in published] == [d["code"] for d in expected] == ["FRZ005", "FRZ011"]
    for got, want in zip(published, expected, strict=True):
        assert got["range"] == lsp_range(
            want["location"]["row"],
            want["location"]["column"],
            want["end_location"]["row"],
            want["end_location"]["column"],
        )
        assert got["message"] == want["message"]
        assert got["severity"] == 1  # error
        assert got["source"] == "freezelint"
    # The model was verified: the message has the real table's numbers.
    assert "213 parameters of timm efficientnet_b0" in published[0]["message"]
    # The rule's documentation is a page the link opens.
    page = Path(published[0]["codeDescription"]["href"].removeprefix("file://"))
    assert page.read_text(encoding="utf-8").startswith("# predicate-matches-nothing (FRZ005)")


def test_a_change_is_checked_again_and_only_its_version_is_published(
    server: Client, project: Path
) -> None:
    # A debounce no busy machine outruns between two messages sent back to back.
    server.notify(
        "workspace/didChangeConfiguration", {"settings": {"freezelint": {"debounce": 300}}}
    )
    _, uri = open_script(server, project, TIMM_FC)
    assert [d["code"] for d in server.diagnostics(uri, version=1)] == ["FRZ005", "FRZ011"]
    # `"fc"` -> `"classifier"`, typed one edit at a time faster than the debounce.
    typing = TIMM_FC.replace('"fc"', '"classifier""fc"')
    server.change(uri, 2, [{"text": typing}])
    server.change(uri, 3, [{"text": typing.replace('""fc"', '"')}])
    # The name filter now keeps the head: left is the optimizer handed the frozen tensors.
    assert [d["code"] for d in server.diagnostics(uri, version=3)] == ["FRZ001"]
    versions = [
        n["params"].get("version")
        for n in server.notifications
        if n["method"] == "textDocument/publishDiagnostics"
    ]
    assert 2 not in versions and versions[-1] == 3  # version 2 never reached the editor
    server.change(uri, 4, [{"text": TIMM_FC}])
    assert [d["code"] for d in server.diagnostics(uri, version=4)] == ["FRZ005", "FRZ011"]
    # Closing clears them.
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert server.diagnostics(uri) == []


def test_lines_are_lsp_lines_in_a_buffer_with_a_form_feed(server: Client, project: Path) -> None:
    # `str.splitlines` also splits at the form feed; LSP and Python split at line endings only.
    text = "# section\x0c one\n" + FROZEN_ATTRIBUTE
    _, uri = open_script(server, project, text)
    (found,) = server.diagnostics(uri)
    assert found["range"]["start"] == {"line": 9, "character": 8}
    lines = re.findall(r".*\n", text)  # LSP's lines (`.` matches the form feed)
    server.change(uri, 2, [{"text": "".join([*lines[:10], "# note\n", *lines[10:]])}])
    (found,) = server.diagnostics(uri, version=2)
    assert found["range"]["start"] == {"line": 9, "character": 8}  # the line was added below
    (action,) = [a for a in code_actions(server, uri, found["range"]) if a["kind"] == "quickfix"]
    fixed = apply_edits("".join([*lines[:10], "# note\n", *lines[10:]]), edits_of(action, uri))
    assert "        m.requires_grad_(False)\n# note\n" in fixed


def test_positions_are_in_the_client_s_code_units(project: Path, cache_dir: Path) -> None:
    text = FROZEN_ATTRIBUTE.replace(
        "        m.requires_grad = False", '        label = "🙂é"; m.requires_grad = False'
    )
    row = text.splitlines().index('        label = "🙂é"; m.requires_grad = False')
    # 8 spaces, `label = "` (9), then 🙂 (2 UTF-16 units, 4 UTF-8 bytes), é (1, 2), `"; ` (3).
    for encoding, character in (("utf-16", 23), ("utf-8", 26), ("utf-32", 22)):
        with serving(
            project,
            options={"cacheDir": str(cache_dir)},
            capabilities={"general": {"positionEncodings": [encoding]}},
        ) as client:
            answer = client.initialized
            assert answer["capabilities"]["positionEncoding"] == encoding
            _, uri = open_script(client, project, text)
            (found,) = client.diagnostics(uri)
            assert found["code"] == "FRZ004"
            assert found["range"]["start"] == {"line": row, "character": character}


def test_an_internal_error_is_said_and_the_server_goes_on(project: Path) -> None:
    broken = (
        "import freezelint.frontends.lsp.server as server\n"
        "def check(*args, **kwargs):\n"
        "    raise RuntimeError('boom')\n"
        "server.check = check\n"
        "from freezelint.frontends.lsp.protocol import main\n"
        "main()\n"
    )
    with serving(project, command=[sys.executable, "-c", broken]) as client:
        _, uri = open_script(client, project, FROZEN_ATTRIBUTE)
        shown = client.wait_for("window/showMessage")
        assert shown["message"] == f"freezelint: internal error while checking {uri}"
        assert shown["type"] == 1  # an error
        logged = [n["params"]["message"] for n in client.notifications]
        assert any("RuntimeError: boom" in message for message in logged)
        where = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
        assert code_actions(client, uri, where) == []  # still answering


# --- fixes ---------------------------------------------------------------------------------


def test_a_quick_fix_is_the_cli_s_fix_and_fix_all_is_check_fix(
    server: Client, project: Path, cache_dir: Path
) -> None:
    path, uri = open_script(server, project, FROZEN_ATTRIBUTE)
    (found,) = server.diagnostics(uri)
    assert found["code"] == "FRZ004" and found["data"] == {"fix": "safe"}
    actions = code_actions(server, uri, found["range"])
    quick = [a for a in actions if a["kind"] == "quickfix"]
    (fix_all,) = [a for a in actions if a["kind"] == "source.fixAll.freezelint"]
    assert len(quick) == 1 and quick[0]["isPreferred"] is True
    assert quick[0]["title"] == "freezelint (FRZ004): Call `m.requires_grad_(False)`"
    assert quick[0]["diagnostics"][0]["code"] == "FRZ004"
    (want,) = cli_json(path, cache_dir)
    assert edits_of(quick[0], uri) == cli_edits(want["fix"]["edits"])
    assert apply_edits(FROZEN_ATTRIBUTE, edits_of(fix_all, uri)) == cli_fix(path, cache_dir)
    # Asked for fix-all alone (as on save), it comes alone.
    (alone,) = code_actions(server, uri, found["range"], only=["source.fixAll"])
    assert alone["kind"] == "source.fixAll.freezelint"
    # Nowhere near the diagnostic: no quick fix.
    far = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}
    assert [a["kind"] for a in code_actions(server, uri, far)] == ["source.fixAll.freezelint"]


def test_fix_all_is_worked_out_when_chosen_if_the_client_resolves_edits(
    project: Path, cache_dir: Path
) -> None:
    resolves = {"textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}}
    with serving(project, options={"cacheDir": str(cache_dir)}, capabilities=resolves) as client:
        answer = client.initialized
        assert answer["capabilities"]["codeActionProvider"]["resolveProvider"] is True
        path, uri = open_script(client, project, FROZEN_ATTRIBUTE)
        (found,) = client.diagnostics(uri)
        (lazy,) = code_actions(client, uri, found["range"], only=["source.fixAll"])
        assert "edit" not in lazy and lazy["data"] == {"uri": uri}
        resolved = client.request("codeAction/resolve", lazy)
        assert apply_edits(FROZEN_ATTRIBUTE, edits_of(resolved, uri)) == cli_fix(path, cache_dir)


def test_unsafe_fixes_are_marked_and_can_be_turned_off(
    server: Client, project: Path, cache_dir: Path
) -> None:
    path, uri = open_script(server, project, ZERO_LR)
    published = server.diagnostics(uri)
    (zero,) = [d for d in published if d["code"] == "FRZ010"]
    assert zero["data"] == {"fix": "unsafe"}
    actions = code_actions(server, uri, zero["range"])
    (quick,) = [a for a in actions if a["kind"] == "quickfix"]
    assert quick["title"].endswith("(unsafe fix)") and quick["isPreferred"] is False
    want = next(d for d in cli_json(path, cache_dir) if d["code"] == "FRZ010")
    assert edits_of(quick, uri) == cli_edits(want["fix"]["edits"])
    # No safe fix in the file: no fix-all (it would change nothing).
    assert all(a["kind"] == "quickfix" for a in actions)
    server.notify(
        "workspace/didChangeConfiguration", {"settings": {"freezelint": {"unsafeFixes": False}}}
    )
    server.diagnostics(uri)
    assert code_actions(server, uri, zero["range"]) == []


# --- settings and configuration files ------------------------------------------------------


def published_until(client: Client, uri: str, wanted: Callable[[set[str]], bool]) -> None:
    """Wait for diagnostics on `uri` whose codes are `wanted` (a check already running when a
    setting changed may publish once more with the old one)."""
    client.wait_for(
        "textDocument/publishDiagnostics",
        lambda p: p["uri"] == uri and wanted({d["code"] for d in p["diagnostics"]}),
    )


def test_settings_and_configuration_files_are_read_again(server: Client, project: Path) -> None:
    path = project / "train.py"
    path.write_text(FROZEN_ATTRIBUTE + ZERO_LR.split("\n", 4)[4], encoding="utf-8")
    uri = server.open(path)
    assert "FRZ004" in {d["code"] for d in server.diagnostics(uri)}
    server.notify(
        "workspace/didChangeConfiguration", {"settings": {"freezelint": {"ignore": ["FRZ004"]}}}
    )
    published_until(server, uri, lambda codes: "FRZ004" not in codes)
    # A bad setting is said once, and the rest still apply.
    server.notify(
        "workspace/didChangeConfiguration",
        {"settings": {"freezelint": {"ignore": ["FRZ004"], "selekt": ["FRZ010"]}}},
    )
    shown = server.wait_for("window/showMessage")
    assert "unknown setting `selekt`" in shown["message"]
    published_until(server, uri, lambda codes: "FRZ004" not in codes and "FRZ010" in codes)
    # The project's configuration file changes: what it ignores is ignored from then on.
    (project / "pyproject.toml").write_text(
        '[tool.freezelint]\nignore = ["FRZ010"]\n', encoding="utf-8"
    )
    server.notify(
        "workspace/didChangeWatchedFiles",
        {"changes": [{"uri": (project / "pyproject.toml").as_uri(), "type": 1}]},
    )
    published_until(server, uri, lambda codes: not codes & {"FRZ004", "FRZ010"})
    # A broken configuration is said, and the file is checked with the defaults.
    (project / "pyproject.toml").write_text("[tool.freezelint]\nignore = 3\n", encoding="utf-8")
    server.notify("workspace/didChangeWatchedFiles", {"changes": []})
    shown = server.wait_for("window/showMessage")
    assert "pyproject.toml" in shown["message"] and "default configuration" in shown["message"]


def test_a_relative_configuration_setting_is_taken_from_the_workspace(
    project: Path, cache_dir: Path
) -> None:
    (project / "conf").mkdir()
    (project / "conf" / "freezelint.toml").write_text('ignore = ["FRZ004"]\n', encoding="utf-8")
    with serving(
        project.parent,  # the server runs elsewhere than the workspace
        project,
        {"cacheDir": str(cache_dir), "configuration": "conf/freezelint.toml"},
    ) as client:
        _, uri = open_script(client, project, FROZEN_ATTRIBUTE)
        assert client.diagnostics(uri) == []


def test_settings_are_pulled_and_configuration_files_watched_when_the_client_can(
    project: Path, cache_dir: Path
) -> None:
    capabilities = {
        "workspace": {"configuration": True, "didChangeWatchedFiles": {"dynamicRegistration": True}}
    }
    with serving(
        project,
        options={"cacheDir": str(cache_dir)},
        capabilities=capabilities,
        settings={"ignore": ["FRZ004"]},
    ) as client:
        path = project / "train.py"
        path.write_text(FROZEN_ATTRIBUTE, encoding="utf-8")
        deadline = time.monotonic() + 30
        while len(client.requests_seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        methods = [r["method"] for r in client.requests_seen]
        assert methods == ["client/registerCapability", "workspace/configuration"]
        watchers = client.requests_seen[0]["params"]["registrations"][0]["registerOptions"]
        assert [w["globPattern"] for w in watchers["watchers"]] == [
            "**/pyproject.toml",
            "**/freezelint.toml",
        ]
        uri = client.open(path)
        assert client.diagnostics(uri) == []  # FRZ004 ignored by the pulled settings


# --- other files of the project ----------------------------------------------------------


def test_a_finding_in_an_imported_file_is_shown_there_while_it_is_open(
    server: Client, project: Path
) -> None:
    from tests.test_project import MODELS, OPTIM, TRAIN

    for name, text in (("models.py", MODELS), ("optim_utils.py", OPTIM), ("train.py", TRAIN)):
        (project / name).write_text(text, encoding="utf-8")
    helper = server.open(project / "optim_utils.py")
    assert server.diagnostics(helper) == []  # alone, nothing says what model it is handed
    train = server.open(project / "train.py")

    def frz001(params: dict) -> bool:
        return [d["code"] for d in params["diagnostics"]] == ["FRZ001"]

    shown = server.wait_for(
        "textDocument/publishDiagnostics", lambda p: p["uri"] == helper and frz001(p)
    )["diagnostics"][0]
    assert shown["range"]["start"] == {"line": 4, "character": 11}  # as `check` reports it
    (call,) = shown["relatedInformation"]
    assert call["location"]["uri"] == train and call["location"]["range"]["start"]["line"] == 5
    # Edited and not saved: the finding's rows are the saved file's, so it is not shown.
    server.change(helper, 2, [{"text": "\n" + OPTIM}])
    assert server.diagnostics(helper, version=2) == []
    server.change(helper, 3, [{"text": OPTIM}])
    assert frz001({"diagnostics": server.diagnostics(helper, version=3)})
    # The importing file closed: the finding goes with it.
    server.notify("textDocument/didClose", {"textDocument": {"uri": train}})
    assert (
        server.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == helper)[
            "diagnostics"
        ]
        == []
    )


# --- notebooks -----------------------------------------------------------------------------


def open_notebook(
    client: Client, project: Path, cells: list[tuple[str, str]]
) -> tuple[str, list[str]]:
    """A notebook of (language, text) cells opened in the editor: its URI and its cells'."""
    notebook = (project / "explore.ipynb").as_uri()
    uris = [f"vscode-notebook-cell:{notebook}#cell{i}" for i in range(len(cells))]
    client.notify(
        "notebookDocument/didOpen",
        {
            "notebookDocument": {
                "uri": notebook,
                "notebookType": "jupyter-notebook",
                "version": 1,
                "cells": [
                    {"kind": 1 if language == "markdown" else 2, "document": uri}
                    for (language, _), uri in zip(cells, uris, strict=True)
                ],
            },
            "cellTextDocuments": [
                {"uri": uri, "languageId": language, "version": 1, "text": text}
                for (language, text), uri in zip(cells, uris, strict=True)
            ],
        },
    )
    return notebook, uris


def test_notebook_cells_get_their_own_diagnostics_and_fixes(project: Path, cache_dir: Path) -> None:
    with serving(
        project,
        options={"cacheDir": str(cache_dir)},
        capabilities={"notebookDocument": {"synchronization": {}}},
    ) as client:
        head, tail = FROZEN_ATTRIBUTE.split("for m in")
        cells = [
            ("markdown", "# Fine-tuning\nFreeze the BatchNorm layers."),
            ("python", "%matplotlib inline\n" + head),
            ("python", "for m in" + tail),
        ]
        notebook, uris = open_notebook(client, project, cells)
        (found,) = client.diagnostics(uris[2])
        assert found["code"] == "FRZ004"
        assert found["range"]["start"] == {"line": 2, "character": 8}  # row 3 of the cell
        (action,) = [
            a for a in code_actions(client, uris[2], found["range"]) if a["kind"] == "quickfix"
        ]
        fixed = apply_edits(cells[2][1], edits_of(action, uris[2]))
        assert "m.requires_grad_(False)" in fixed and "m.requires_grad =" not in fixed
        assert set(action["edit"]["changes"]) == {uris[2]}  # the other cells are left alone
        (fix_all,) = code_actions(client, uris[2], found["range"], only=["source.fixAll"])
        assert set(fix_all["edit"]["changes"]) == {uris[2]}
        assert apply_edits(cells[2][1], edits_of(fix_all, uris[2])) == fixed
        # An edit in the cell: checked again, the cell cleared.
        client.notify(
            "notebookDocument/didChange",
            {
                "notebookDocument": {"uri": notebook, "version": 2},
                "change": {
                    "cells": {
                        "textContent": [
                            {
                                "document": {"uri": uris[2], "version": 2},
                                "changes": [{"text": fixed}],
                            }
                        ]
                    }
                },
            },
        )
        assert client.diagnostics(uris[2]) == []


def test_a_notebook_finding_points_at_the_cell_its_message_names(
    project: Path, cache_dir: Path
) -> None:
    with serving(
        project,
        options={"cacheDir": str(cache_dir)},
        capabilities={"notebookDocument": {"synchronization": {}}},
    ) as client:
        first, second = (
            ZERO_LR.split("optimizer.add_param_group")[0],
            "model.fc = torch.nn.Linear(512, 3)\n",
        )
        first = first.replace("model.fc.requires_grad_(True)\n", "")
        _, uris = open_notebook(client, project, [("python", first), ("python", second)])
        found = client.diagnostics(uris[0])
        (replaced,) = [d for d in found if d["code"] == "FRZ002"]
        assert "(cell 2)" in replaced["message"]
        (where,) = replaced["relatedInformation"]
        assert where["location"]["uri"] == uris[1]
        assert where["location"]["range"]["start"] == {"line": 0, "character": 0}


# --- verification in the background --------------------------------------------------------


def test_a_model_not_cached_is_verified_in_the_background(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-cache"
    with serving(project, options={"cacheDir": str(empty)}) as client:
        _, uri = open_script(client, project, TIMM_FC)
        # At once: what needs no table (nothing here), the model left for later.
        assert client.diagnostics(uri, timeout=10) == []
        started = client.wait_for("window/logMessage", lambda p: "verifying" in p["message"])
        assert "timm:efficientnet_b0" in started["message"]
        # The editor is answered while the model is built.
        where = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
        assert code_actions(client, uri, where) == []
        # Then the table arrives and the findings that need it are published.
        found = client.diagnostics(uri, timeout=180)
        assert [d["code"] for d in found] == ["FRZ005", "FRZ011"]
        assert list((empty / "tables").glob("timm-*.json"))  # and cached for next time


def _workers_of(pid: int) -> set[int]:
    """The verification workers the process `pid` started (Linux: read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"freezelint.model.worker" in command:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_exiting_while_a_model_is_built_stops_the_build(project: Path, tmp_path: Path) -> None:
    client = Client(project)
    try:
        client.initialize(project, {"cacheDir": str(tmp_path / "empty-cache")})
        open_script(client, project, TIMM_FC)
        client.wait_for("window/logMessage", lambda p: "verifying" in p["message"])
        deadline, workers = time.monotonic() + 30, set()
        while not workers and time.monotonic() < deadline:
            workers = _workers_of(client.process.pid)
            time.sleep(0.02)
        assert workers
        assert client.stop() == 0
        # Killed, not left to finish its build (importing torch alone takes longer than this).
        deadline = time.monotonic() + 2
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers))
    finally:
        client.kill()


def test_hover_on_an_optimizer_line_shows_its_trainability_map(
    server: Client, project: Path
) -> None:
    recipe = Path(__file__).parent.parent / "fixtures/FRZ006/seed_recipe3_param_groups_effnet.py"
    text = recipe.read_text(encoding="utf-8")
    path, uri = open_script(server, project, text)
    server.diagnostics(uri, version=1)
    line = next(i for i, t in enumerate(text.splitlines()) if "torch.optim.Adam(" in t)
    at = {"textDocument": {"uri": uri}, "position": {"line": line, "character": 14}}
    hover = server.request("textDocument/hover", at)
    value = hover["contents"]["value"]
    shown = subprocess.run(
        [sys.executable, "-m", "freezelint", "show", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    ).stdout
    assert value == f"```text\n{shown}```\n"
    assert "model._conv_stem  1 tensor, 864 elements  ! trainable, in no optimizer" in value
    # Anywhere else: nothing.
    elsewhere = {"textDocument": {"uri": uri}, "position": {"line": line - 2, "character": 0}}
    assert server.request("textDocument/hover", elsewhere) is None
