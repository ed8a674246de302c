"""One module reached by two names: a composite given, as its part, a submodule of another model
(`self.features = densenet.features`, `Wrapper(vit.blocks)` storing `self.inner = inner`).
The part's state at that moment is carried by `ModuleReplaced.taken_from`; what the script does
to either name afterwards is done to the other too: a freeze of `vit.blocks` freezes
`wrapper.inner`, and one of `wrapper.inner` freezes `vit.blocks`. Kept per walk, as pairs of
(model, path) that name the same module; a selection of plain regions is widened to the other
names of what it covers."""

from __future__ import annotations

from freezelint.script.selection import Path, Region, Selection, leaves, union

Name = tuple[int, Path]  # (model, path)


class ModuleAliases:
    def __init__(self) -> None:
        self._pairs: list[tuple[Name, Name]] = []

    def link(self, first: Name, second: Name) -> None:
        """`first` and `second` name one module from now on."""
        if first != second and (first, second) not in self._pairs:
            self._pairs.append((first, second))

    def unlink(self, model: int, path: Path) -> None:
        """Whatever sat at `path` of `model` (or inside it) is replaced: names reaching it
        through there no longer name the module the other name still holds."""
        self._pairs = [
            (a, b)
            for a, b in self._pairs
            if not any(n[0] == model and n[1][: len(path)] == path for n in (a, b))
        ]

    def lift(self, model: int, into: int, path: Path) -> None:
        """Model `model` became part `path` of model `into`: its other names are the part's."""
        for a, b in list(self._pairs):
            for mine, other in ((a, b), (b, a)):
                if mine[0] == model:
                    self.link((into, path + mine[1]), other)

    def widen(self, sel: Selection) -> Selection:
        """`sel` with the other names of the regions it covers (only plain regions: a filter
        over names is the names one way of reaching the module sees)."""
        if not self._pairs or not all(isinstance(leaf, Region) for leaf in leaves(sel)):
            return sel
        found: list[Selection] = list(leaves(sel))
        for leaf in list(found):
            assert isinstance(leaf, Region)
            for a, b in self._pairs:
                for mine, other in ((a, b), (b, a)):
                    extra = _through(leaf, mine, other)
                    if extra is not None and extra not in found:
                        found.append(extra)
        return union(*found)


def _through(region: Region, mine: Name, other: Name) -> Region | None:
    """What of `other` region covers, when `mine` and `other` are one module: all of it when
    the region holds `mine`, the same sub-path when the region lies inside it."""
    model, path = mine
    if region.model != model:
        return None
    if region.path[: len(path)] == path:
        return Region(other[0], other[1] + region.path[len(path) :])
    if path[: len(region.path)] == region.path:
        return Region(other[0], other[1])
    return None
