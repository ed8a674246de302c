"""The HTML trainability map in a real headless browser (issue 26): Playwright driving Chromium
checks the tree, a fold and a finding's placement. Skipped where Playwright or a Chromium
(`chromium` on PATH, Debian's package) is not installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.frontends.cli import cli

ROOT = Path(__file__).resolve().parent.parent
RECIPE3 = ROOT / "fixtures" / "FRZ006" / "seed_recipe3_param_groups_effnet.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As the machine notes advise: no background networking on a closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_the_page_folds_and_places_findings(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "map.html"
    result = CliRunner().invoke(
        cli, ["show", "--output-format", "html", "-o", str(page_file), str(RECIPE3)]
    )
    assert result.exit_code == 0, result.output
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            # The tree: the model, its top-level modules, `_blocks` open on its two runs.
            names = page.locator(".tree .name").all_inner_texts()
            assert names[:4] == ["model", "model._conv_stem", "model._bn0", "model._blocks"]
            runs = page.locator("details:has(> summary .name:text-is('model._blocks')) .name")
            assert runs.all_inner_texts() == [
                "model._blocks",
                "model._blocks[0:3]",
                "model._blocks[3:16]",
            ]
            # A fold: clicking `model._blocks` hides its runs, clicking again shows them.
            blocks = page.locator("summary:has(.name:text-is('model._blocks'))")
            inner = page.locator(".leaf:has(.name:text-is('model._blocks[0:3]'))")
            assert inner.is_visible()
            blocks.click()
            assert not inner.is_visible()
            blocks.click()
            assert inner.is_visible()
            # The finding sits on the modules it is about, in their state's colour.
            stem = page.locator(".leaf:has(.name:text-is('model._conv_stem'))")
            assert stem.locator(".finding-mark").inner_text() == "FRZ006"
            assert stem.locator(".state").inner_text() == "trainable, in no optimizer"
            colour = stem.locator(".state").evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(255, 221, 221)"
            fc = page.locator(".leaf:has(.name:text-is('model._fc'))")
            assert fc.locator(".finding-mark").count() == 0
            page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
            assert requests == [page_file.as_uri()]  # (nothing fetched: no network, no assets)
        finally:
            browser.close()
