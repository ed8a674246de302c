"""What a document is checked with: its project's configuration (the nearest `freezelint.toml`
or `pyproject.toml` with `[tool.freezelint]`, or the one the settings name), the editor's rule
selection on top, per-file-ignores, and the verifier for the cache folder in use. A
configuration file is read again when it changes on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from freezelint.frontends.lsp.settings import Settings
from freezelint.model.cache import TableCache, default_cache_dir
from freezelint.model.resolve import Verifier
from freezelint.run import config as config_module
from freezelint.run.config import Config, ConfigError
from freezelint.run.rule_codes import file_codes, selected_codes
from freezelint.run.runner import Options


@dataclass
class Selections:
    _configs: dict[Path, tuple[int, Config]] = field(default_factory=dict)
    _verifiers: dict[Path, Verifier] = field(default_factory=dict)

    def forget(self) -> None:
        """Read every configuration file again at the next check."""
        self._configs.clear()

    def of(
        self, path: Path, settings: Settings, root: Path | None = None
    ) -> tuple[frozenset[str], Options, Verifier | None, list[str]]:
        """Codes, options and verifier for the file at `path`, and what was wrong with the
        configuration or the settings (each then ignored, as if it were not there). Relative
        paths in the settings are taken from the workspace's `root`."""
        problems: list[str] = []
        config = self._config(path, settings, problems, root)
        own_select = list(settings.select) if settings.select is not None else None
        try:
            codes = selected_codes(
                own_select if own_select is not None else (config.select or []),
                [*config.ignore, *settings.ignore],
                [*config.extend_select, *settings.extend_select],
            )
        except click.UsageError as error:
            problems.append(f"settings: {error.message}; using the configuration's selection")
            codes = selected_codes(config.select or [], config.ignore, config.extend_select)
        codes = file_codes(codes, config, str(path))
        cache_dir = under_root(root, settings.cache_dir) if settings.cache_dir else config.cache_dir
        options = Options(
            verify=settings.verify,
            cache_dir=cache_dir,
            unsafe_fixes=settings.unsafe_fixes,
            aliases=tuple(sorted(config.model_aliases.items())),
        )
        verifier = None
        if settings.verify:
            folder = (cache_dir or default_cache_dir()).resolve()
            if folder not in self._verifiers:
                self._verifiers[folder] = Verifier(TableCache(folder), build=False)
            verifier = self._verifiers[folder]
        return frozenset(codes), options, verifier, problems

    def _config(
        self, path: Path, settings: Settings, problems: list[str], root: Path | None
    ) -> Config:
        try:
            found = (
                under_root(root, settings.configuration)
                if settings.configuration
                else config_module.find(path.parent if path.suffix else path)
            )
        except OSError:
            found = None
        if found is None:
            return Config()
        try:
            stamp = found.stat().st_mtime_ns
        except OSError as error:
            problems.append(f"{found}: cannot read: {error}")
            return Config()
        cached = self._configs.get(found)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            config = config_module.load(found)
        except ConfigError as error:
            problems.append(f"{error}; checking with the default configuration")
            config = Config()
        self._configs[found] = (stamp, config)
        return config


def under_root(root: Path | None, setting: str) -> Path:
    """A path from the settings: `~` expanded, a relative one taken from the workspace root."""
    path = Path(setting).expanduser()
    return root / path if root is not None and not path.is_absolute() else path
