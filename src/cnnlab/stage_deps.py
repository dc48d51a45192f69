"""Which code each stage runs, for DVC: one fingerprint file per stage script.

DVC re-runs a stage when one of its `deps` changes, so the cnnlab files a stage runs
must all be among them, and no others (or editing the report would retrain). The
imports are read statically and transitively: imports inside functions count (a lazy
import still runs when the stage needs it); imports under `if TYPE_CHECKING:` do not,
since they never run. A package's `__init__.py` counts when it holds more than a
docstring, since importing anything below runs it. Nothing in cnnlab imports a module by
a name in a string (a registry's "module:function" is resolved among modules its caller
imports; tests check), so the import statements are the whole story.

The `fingerprints` stage (first in dvc.yaml, on every source file) writes
fingerprints/S.txt for each stages/S.py: every file that script runs with its md5, in
`md5sum` format. Each stage depends on its own fingerprint only, so an edit re-runs
exactly the stages whose fingerprint it changes. The files are not listed in dvc.yaml one
by one because DVC re-reads and rewrites the whole of dvc.lock after every stage: with
each stage's forty-odd code files in it, the lock was 200 KB and that round trip 2.45 s a
stage (0.91 s at today's 71 KB; a 2-core Intel Xeon).

    python -m cnnlab.stage_deps                 # check that every stage depends on its fingerprint
    python -m cnnlab.stage_deps FILE [FILE...]  # which stages an edit of these files re-runs
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
from functools import cache
from pathlib import Path

import yaml

from cnnlab.io import replace_dir

PACKAGE = "cnnlab"
CODE_ROOTS = ("src/", "stages/")
FINGERPRINTS = "fingerprints"  # the fingerprints stage's name and its output folder
SOURCES = ("src/cnnlab", "stages")  # what it depends on: every file a stage can run


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


def fingerprint_file(script: str) -> str:
    """The fingerprint a stage running `stages/S.py` depends on: fingerprints/S.txt."""
    return f"{FINGERPRINTS}/{Path(script).stem}.txt"


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def fingerprint(root: Path, script: Path, md5s: dict[str, str] | None = None) -> str:
    """Every file the script runs with its md5, one `md5  path` line each (`md5sum -c` reads it).
    md5s: hashes already taken, shared across scripts (most files are run by every stage)."""
    md5s = {} if md5s is None else md5s
    files = sorted(code_files(root, script))
    for f in files:
        if f not in md5s:
            md5s[f] = md5_of(root / f)
    return "".join(f"{md5s[f]}  {f}\n" for f in files)


def write_fingerprints(root: Path = Path(".")) -> dict[str, str]:
    """fingerprints/S.txt for every stages/S.py, swapped in as a whole folder."""
    root = root.resolve()
    md5s: dict[str, str] = {}
    texts = {fingerprint_file(p.relative_to(root).as_posix()): fingerprint(root, p, md5s)
             for p in sorted((root / "stages").glob("*.py"))}

    def fill(tmp: Path) -> None:
        for name, text in texts.items():
            (tmp / Path(name).name).write_text(text, encoding="utf-8")

    replace_dir(root / FINGERPRINTS, fill)
    return texts


def stage_definitions(root: Path) -> dict[str, dict]:
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    return {name: body.get("do", body) for name, body in stages.items()}


def script_of(cmd: str) -> str:
    match = re.search(r"\bpython\s+(stages/\S+\.py)", cmd)
    if match is None:
        raise ValueError(f"no `python stages/X.py` in the command {cmd!r}")
    return match.group(1)


def drift(root: Path = Path(".")) -> list[str]:
    """One line for each stage whose code deps are not its own fingerprint, naming the fix."""
    root = root.resolve()
    problems = []
    for name, stage in stage_definitions(root).items():
        deps = [d for d in stage.get("deps", []) if isinstance(d, str)]
        if name == FINGERPRINTS:
            if sorted(deps) != sorted(SOURCES):
                problems.append(f"{name}: depends on {deps}; it must depend on exactly {list(SOURCES)}, "
                                "every file a stage can run")
            continue
        wanted = fingerprint_file(script_of(stage["cmd"]))
        direct = [d for d in deps if d.startswith(CODE_ROOTS)]
        if direct:
            problems.append(f"{name}: lists code files itself ({', '.join(direct)}); replace them with {wanted}, "
                            "which covers every file its script runs")
        if wanted not in deps:
            problems.append(f"{name}: does not depend on {wanted}; add it to the stage's deps, or an edit of "
                            "the code it runs will not re-run it")
    return problems


def stages_running(root: Path, path: str) -> set[str]:
    """The stages of dvc.yaml that run the file `path` (relative to root): what an edit of it re-runs."""
    root = root.resolve()
    return {name for name, stage in stage_definitions(root).items() if name != FINGERPRINTS
            and path in code_files(root, root / script_of(stage["cmd"]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="say which stages an edit of these files re-runs")
    parser.add_argument("--root", default=".", help="the repository (default: here)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.files:
        for path in args.files:
            print(f"{path}: {', '.join(sorted(stages_running(root, path))) or 'no stage runs it'}")
        return 0
    problems = drift(root)
    if not problems:
        print("dvc.yaml: every stage depends on its own fingerprint, and on no code file directly.")
        return 0
    print("\n".join(problems))
    return 1


if __name__ == "__main__":
    sys.exit(main())
