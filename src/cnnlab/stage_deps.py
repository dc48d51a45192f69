"""Every stage's code deps in dvc.yaml, derived from what its script imports.

DVC re-runs a stage when one of its `deps` changes, so the cnnlab files a stage runs
must all be among them, and no others (or editing the report would retrain). The
imports are read statically and transitively: imports inside functions count (a lazy
import still runs when the stage needs it); imports under `if TYPE_CHECKING:` do not,
since they never run. A package's `__init__.py` counts when it holds more than a
docstring, since importing anything below runs it. Nothing in cnnlab imports a module by
a name in a string (a registry's "module:function" is resolved among modules its caller
imports; tests check), so the import statements are the whole story.

    python -m cnnlab.stage_deps           # say which stages' deps differ, and how
    python -m cnnlab.stage_deps --write   # rewrite those deps in dvc.yaml

A directory stands for every Python file under it, so it is listed only where the
stage imports all of them.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PACKAGE = "cnnlab"
CODE_ROOTS = ("src/", "stages/")


@dataclass(frozen=True)
class Drift:
    stage: str
    missing: list[str]  # imported, not covered by deps
    extra: list[str]  # covered by deps, never imported
    expected: list[str]  # the code deps the stage should list


def module_file(root: Path, module: str) -> Path | None:
    """The file of a cnnlab module (`cnnlab.train.loop`), or None for a name that is not one."""
    base = root / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def runs_code(init: Path) -> bool:
    """Whether a package's __init__.py does anything beyond its docstring."""
    body = ast.parse(init.read_text()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def type_checking_only(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:`: imports for annotations, which never run."""
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def running_nodes(tree: ast.AST):
    """Every node of the tree but those under `if TYPE_CHECKING:` (its else branch runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if type_checking_only(node):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def imported_modules(path: Path) -> set[str]:
    """The cnnlab modules a file names in any import statement, at any depth."""
    found: set[str] = set()
    for node in running_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == PACKAGE:
            found.add(node.module)
            # `from cnnlab.models import transfer` imports a module, not a name
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@cache
def _closure(root: Path, script: Path) -> frozenset[Path]:
    seen: set[Path] = {script}
    todo = [script]
    while todo:
        for module in imported_modules(todo.pop()):
            parts = module.split(".")
            # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c.
            for depth in range(1, len(parts) + 1):
                found = module_file(root, ".".join(parts[:depth]))
                if found is not None and found not in seen:
                    seen.add(found)
                    todo.append(found)
    return frozenset(seen)


def code_files(root: Path, script: Path) -> set[str]:
    """Every file the stage script runs (itself included), relative to root."""
    return {p.relative_to(root).as_posix() for p in _closure(root, script)
            if p.name != "__init__.py" or runs_code(p)}


def python_files(root: Path, dep: str) -> set[str]:
    """The Python files a deps entry stands for (what DVC hashes, as far as code goes)."""
    path = root / dep
    if path.is_file():
        return {dep} if path.suffix == ".py" else set()
    if path.is_dir():
        return {p.relative_to(root).as_posix() for p in path.rglob("*.py")
                if "__pycache__" not in p.parts and (p.name != "__init__.py" or runs_code(p))}
    return set()


def collapsed(root: Path, files: set[str]) -> list[str]:
    """files as deps entries: a package directory wherever every file in it is listed."""
    entries = set(files)
    for directory in sorted({str(Path(f).parent) for f in files}, key=lambda d: d.count("/")):
        if not directory.startswith("src/cnnlab/") or directory == "src/cnnlab":
            continue
        inside = python_files(root, directory)
        if inside and inside <= files:
            entries = {e for e in entries if not e.startswith(directory + "/")} | {directory}
    # a directory already stands for its subdirectories
    entries = {e for e in entries if not any(e.startswith(d + "/") for d in entries if d != e)}
    return sorted(entries, key=lambda e: (not e.startswith("stages/"), e))


def stage_definitions(root: Path) -> dict[str, dict]:
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    return {name: body.get("do", body) for name, body in stages.items()}


def script_of(cmd: str) -> str:
    match = re.search(r"\bpython\s+(stages/\S+\.py)", cmd)
    if match is None:
        raise ValueError(f"no `python stages/X.py` in the command {cmd!r}")
    return match.group(1)


def drift(root: Path = Path(".")) -> list[Drift]:
    """The stages whose code deps differ from what their scripts import."""
    root = root.resolve()
    out = []
    for name, stage in stage_definitions(root).items():
        needed = code_files(root, root / script_of(stage["cmd"]))
        listed_entries = [d for d in stage.get("deps", []) if isinstance(d, str) and d.startswith(CODE_ROOTS)]
        listed = set().union(*(python_files(root, d) for d in listed_entries))
        missing, extra = sorted(needed - listed), sorted(listed - needed)
        expected = collapsed(root, needed)
        if missing or extra or sorted(listed_entries, key=lambda e: (not e.startswith("stages/"), e)) != expected:
            out.append(Drift(name, missing, extra, expected))
    return out


def rewrite(text: str, fixes: dict[str, list[str]]) -> str:
    """dvc.yaml with each named stage's code deps replaced (first in its deps list),
    everything else, comments included, kept as written."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stage, in_deps, indent = None, False, ""
    for line in lines:
        top = re.match(r"^  ([A-Za-z0-9_-]+):\s*$", line)
        if top:
            stage, in_deps = top.group(1), False
        deps = re.match(r"^(\s+)deps:\s*$", line)
        if deps and stage in fixes:
            out.append(line)
            in_deps, indent = True, deps.group(1) + "  "
            out.extend(f"{indent}- {entry}\n" for entry in fixes[stage])
            continue
        if in_deps:
            item = re.match(rf"^{indent}- (\S+)", line)
            if item and item.group(1).startswith(CODE_ROOTS):
                continue
            if not item:
                in_deps = False
        out.append(line)
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the differing deps in dvc.yaml")
    parser.add_argument("--root", default=".", help="the repository (default: here)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    found = drift(root)
    if not found:
        print("dvc.yaml: every stage's code deps are what its script imports.")
        return 0
    for d in found:
        print(f"{d.stage}: " + "; ".join(filter(None, [
            f"imports but does not list {', '.join(d.missing)}" if d.missing else "",
            f"lists but never imports {', '.join(d.extra)}" if d.extra else "",
            "" if d.missing or d.extra else "same files, listed differently"])))
    if args.write:
        path = root / "dvc.yaml"
        path.write_text(rewrite(path.read_text(), {d.stage: d.expected for d in found}))
        print(f"rewrote the code deps of {len(found)} stage(s) in {path}.")
        return 0
    print("Run `python -m cnnlab.stage_deps --write` to make dvc.yaml match.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
