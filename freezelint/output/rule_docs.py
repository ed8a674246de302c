"""Where a rule's documentation is: the `ruleDocs` URL template if the editor set one (the
language server's `codeDescription`), else a Markdown page per rule (what `freezelint rule CODE`
prints) written once into the cache folder, so the link opens offline in any editor or browser
(also the JSON output's `url`)."""

from __future__ import annotations

from pathlib import Path

from freezelint import __version__


class RuleDocs:
    def __init__(self, folder: Path | None = None, template: str | None = None) -> None:
        self.folder = folder
        self.template = template
        self._written: dict[str, str | None] = {}

    def link(self, code: str) -> str | None:
        if self.template:
            return self.template.replace("{code}", code)
        if code not in self._written:
            self._written[code] = self._write(code)
        return self._written[code]

    def _write(self, code: str) -> str | None:
        from freezelint.model.cache import default_cache_dir
        from freezelint.rules import RULES

        rule = RULES.get(code)
        if rule is None:
            return None
        folder = (self.folder or default_cache_dir()) / "rule-docs" / __version__
        page = folder / f"{code}.md"
        text = (
            f"# {rule.name} ({rule.code})\n\nSeverity: {rule.severity.value}. "
            f"Needs the model: {rule.needs_model}. Fix: {rule.fix}.\n\n{rule.doc}\n"
        )
        try:
            if not page.is_file() or page.read_text(encoding="utf-8") != text:
                folder.mkdir(parents=True, exist_ok=True)
                page.write_text(text, encoding="utf-8")
        except OSError:
            return None  # a read-only cache: no link rather than a dead one
        return page.as_uri()
