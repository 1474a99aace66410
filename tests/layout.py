"""The import rules of ivr/'s layout, read from the source with ast (imports under TYPE_CHECKING do not run).

Which package may import which is the plan the README's layout table states: base modules import no
package; content and store import only base modules; voice and sms import content, store and base;
tools import anything; only the factory (ivr/app.py) and the tools import the factory.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("content", "store", "voice", "sms", "tools")
BASE = "base"
FACTORY = "app"
MAY_IMPORT = {
    BASE: {BASE},
    "content": {BASE, "content"},
    "store": {BASE, "store"},
    "voice": {BASE, "content", "store", "voice"},
    "sms": {BASE, "content", "store", "sms"},
    "tools": {BASE, "content", "store", "voice", "sms", "tools", FACTORY},
    FACTORY: {BASE, "content", "store", "voice", "sms", "tools", FACTORY},
}


def layer(module: str) -> str | None:
    """The layer of a dotted module name inside ivr (None: not ivr's)."""
    parts = module.split(".")
    if parts[0] != "ivr":
        return None
    if len(parts) == 1:
        return BASE  # the package's own __init__: a docstring
    if parts[1] in PACKAGES:
        return parts[1]
    return FACTORY if parts[1] == FACTORY else BASE


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import that runs, relative ones resolved."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, *([base] if base else [])])
                found.append((child.lineno, base))
                found.extend((child.lineno, f"{base}.{alias.name}") for alias in child.names)  # from ivr import voice
            visit(child)

    visit(tree)
    return found


def upward_imports(root: Path) -> list[str]:
    """Every import under ``root`` (the ivr/ folder) that breaks the rules, as 'file:line: a imports b'."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(root, path)
        mine = layer(module)
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, imported in imports(tree, module, path.name == "__init__.py"):
            theirs = layer(imported)
            if theirs is None or theirs in MAY_IMPORT[mine]:
                continue
            problems.append(f"{path.relative_to(root.parent)}:{line}: {mine} module {module} imports {imported} ({theirs})")
    return sorted(set(problems))
