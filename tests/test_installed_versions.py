"""Installed versions read from `.dist-info` folders (issue 24) are what `importlib.metadata`
says, and whatever is not plain is left to it."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from freezelint.script import installed_versions
from freezelint.script.installed_versions import installed_version


@pytest.fixture(autouse=True)
def fresh_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installed_versions, "_ENTRIES", {})


def _metadata_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@pytest.mark.parametrize(
    "name",
    [
        "torch",
        "timm",
        "torchvision",
        "efficientnet-pytorch",
        "efficientnet_pytorch",
        "Efficientnet.Pytorch",
        "libcst",
        "click",
        "freezelint",  # (an editable install: an `.egg-info` in the checkout, or a dist-info)
        "lightning",
        "pytorch-lightning",
        "no-such-distribution-here",
    ],
)
def test_the_installed_version_is_what_importlib_metadata_says(name: str) -> None:
    assert installed_version(name) == _metadata_version(name)


def _entry(tmp_path: Path, folder: str, file: str, version: str) -> Path:
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / file).write_text(
        f"Metadata-Version: 2.1\nName: x\nVersion: {version}\n\nVersion: not this\n",
        encoding="utf-8",
    )
    return tmp_path


def test_a_wheel_first_on_the_path_is_read_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _entry(tmp_path, "Fake_Dist-1.2.3.dist-info", "METADATA", "1.2.3")
    _entry(tmp_path, "Dotted.Name-0.5.DIST-INFO", "METADATA", "0.5")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert installed_versions._plain_version("fake-dist") == "1.2.3"
    assert installed_version("fake.dist") == "1.2.3" == _metadata_version("fake-dist")
    assert installed_version("dotted-name") == "0.5" == _metadata_version("dotted-name")
    # It comes before an installed distribution of the same name further down the path.
    _entry(tmp_path, "click-0.0.1.dist-info", "METADATA", "0.0.1")
    installed_versions._ENTRIES.clear()  # (an entry is listed once per process)
    assert installed_version("click") == "0.0.1" == _metadata_version("click")


def test_an_egg_or_two_folders_for_one_name_are_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _entry(tmp_path, "eggy-2.0-py3.11.egg-info", "PKG-INFO", "2.0")
    _entry(tmp_path, "twice-1.0.dist-info", "METADATA", "1.0")
    _entry(tmp_path, "twice-2.0.dist-info", "METADATA", "2.0")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert installed_versions._plain_version("eggy") is None
    assert installed_version("eggy") == "2.0" == _metadata_version("eggy")
    assert installed_versions._plain_version("twice") is None
    assert installed_version("twice") == _metadata_version("twice")
    # Another distribution's egg in the same entry does not stand in the way.
    assert installed_versions._plain_version("torch") == _metadata_version("torch")


def test_an_egg_folder_on_the_path_is_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    egg = tmp_path / "hatched-3.1-py3.11.egg"
    _entry(egg, "EGG-INFO", "PKG-INFO", "3.1")
    monkeypatch.setattr(sys, "path", [str(egg), *sys.path])
    assert installed_versions._plain_version("hatched") is None
    assert installed_version("hatched") == _metadata_version("hatched")


def test_a_finder_of_its_own_is_asked_through_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _entry(tmp_path, "bundled_dist-4.2.dist-info", "METADATA", "4.2")

    class Bundled(metadata.DistributionFinder):
        """A finder listing one distribution that is on no `sys.path` entry."""

        def find_spec(self, *args: object) -> None:
            return None

        def find_distributions(self, context=None):  # type: ignore[no-untyped-def]
            if getattr(context, "name", None) == "bundled-dist":
                yield metadata.PathDistribution(bundle / "bundled_dist-4.2.dist-info")

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Bundled()])
    assert installed_version("bundled-dist") == "4.2" == _metadata_version("bundled-dist")
    assert installed_version("no-such-distribution-here") is None
