"""Import aliases, resolved by one small pass over import statements (not libcst's
QualifiedNameProvider, whose metadata costs ~10x the parse), and the qualified-name helpers the
extractor uses to recognise `torch.optim.AdamW`, `timm.create_model` and friends."""

from __future__ import annotations

import libcst as cst

from freezelint.script.node_kinds import is_a

# What holds statements an import may be among.
_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.Module)


def dotted(node: cst.CSTNode) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _module_name(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


class ImportTable:
    """Local name -> fully qualified name, collected from every import in the file.

    Scopes are not distinguished: a training script that imports `nn` in one function and uses a
    variable named `nn` for something else in another is not a case worth the metadata cost.
    """

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        # For the project's own modules (`project.resolve`): local name -> (module, level,
        # the name imported from it, or None for `import module`), and `from m import *`s.
        self.sources: dict[str, tuple[str, int, str | None]] = {}
        self.stars: list[tuple[str, int]] = []

    @classmethod
    def of(cls, module: cst.Module) -> ImportTable:
        table = cls()
        table._collect(module)
        return table

    def _collect(self, module: cst.Module) -> None:
        stack: list[cst.CSTNode] = [module]
        while stack:
            node = stack.pop()
            if type(node) is cst.Import:
                for alias in node.names:
                    name = _module_name(alias.name)
                    if alias.asname is not None:
                        self.aliases[dotted(alias.asname.name) or name] = name
                        self.sources[dotted(alias.asname.name) or name] = (name, 0, None)
                    else:
                        # `import torch.nn` binds `torch`; `torch.nn.X` then qualifies as itself.
                        top = name.split(".")[0]
                        self.aliases.setdefault(top, top)
                        self.sources.setdefault(top, (top, 0, None))
            elif type(node) is cst.ImportFrom:
                self._sources_of(node)
                if node.relative or node.module is None:
                    continue
                base = _module_name(node.module)
                if type(node.names) is cst.ImportStar:
                    self.aliases[f"*{base}"] = base
                    continue
                for alias in node.names:
                    name = _module_name(alias.name)
                    local = dotted(alias.asname.name) if alias.asname is not None else name
                    if local:
                        self.aliases[local] = f"{base}.{name}"
            elif is_a(node, _STATEMENTS):
                stack.extend(_statement_children(node))

    def with_star(self, other: ImportTable) -> ImportTable:
        """This table after `from other import *`: the names other's imports bind, unless this
        file binds them itself."""
        merged = ImportTable()
        merged.aliases = {**other.aliases, **self.aliases}
        merged.sources = {**other.sources, **self.sources}
        merged.stars = [*self.stars, *other.stars]
        return merged

    def _sources_of(self, node: cst.ImportFrom) -> None:
        base = _module_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if type(node.names) is cst.ImportStar:
            self.stars.append((base, level))
            return
        for alias in node.names:
            name = _module_name(alias.name)
            local = dotted(alias.asname.name) if alias.asname is not None else name
            if local:
                self.sources[local] = (base, level, name)

    def qualify(self, node: cst.CSTNode) -> str | None:
        """The qualified name of a Name/Attribute chain, via the import aliases; names that were
        not imported come back as written (so locally defined names still match `Name`)."""
        text = dotted(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return text
        return f"{target}.{rest}" if rest else target

    def star_imports(self) -> list[str]:
        return [v for k, v in self.aliases.items() if k.startswith("*")]


def _statement_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The statements directly inside a statement (or module): no expressions are visited."""
    if type(node) is cst.SimpleStatementLine:
        return list(node.body)
    if type(node) is cst.Module:
        return list(node.body)
    out: list[cst.CSTNode] = []
    for attr in ("body", "orelse", "handlers", "finalbody"):
        part = getattr(node, attr, None)
        if part is None:
            continue
        if isinstance(part, tuple | list):
            for handler in part:
                out.extend(_statement_children(handler))
        elif is_a(part, cst.BaseSuite):
            out.extend(part.body)
        elif type(part) in (cst.Else, cst.Finally, cst.If):
            out.extend(_statement_children(part) if type(part) is cst.If else part.body.body)
    return out
