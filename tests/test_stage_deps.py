"""dvc.yaml's code deps follow the imports: nothing a stage runs is left out, nothing else is in."""

from pathlib import Path

import yaml

from cnnlab.stage_deps import code_files, drift, main, python_files, stage_definitions
from tests.conftest import ROOT


def test_every_stage_of_dvc_yaml_lists_exactly_the_cnnlab_files_it_imports():
    found = drift(ROOT)
    assert not found, "\n".join(f"{d.stage}: missing {d.missing}, extra {d.extra}" for d in found) + \
        "\nRun `python -m cnnlab.stage_deps --write`."


def stages_covering(path: str) -> set[str]:
    """The stages DVC re-runs when `path` changes (a deps entry is that file or a folder above it)."""
    return {name for name, stage in stage_definitions(ROOT).items()
            if any(path == d or path.startswith(d.rstrip("/") + "/") for d in stage.get("deps", []))}


ALL = {"download", "split", "stats", "data_overview", "lr_find", "train", "evaluate", "repeat", "saliency", "report"}


def test_a_change_re_runs_the_stages_that_run_the_changed_code_and_no_others():
    # predict (inference) is what evaluate@V and repeat@V-S test with, and what training validates with
    assert stages_covering("src/cnnlab/runtime/inference.py") == {"lr_find", "train", "evaluate", "repeat"}
    assert {"saliency", "evaluate"} <= stages_covering("src/cnnlab/runtime/checkpoint.py")
    assert stages_covering("src/cnnlab/params.py") == ALL  # the schema and its defaults
    assert {"train", "lr_find", "repeat", "evaluate", "saliency"} <= stages_covering("src/cnnlab/data/prepared.py")
    assert stages_covering("src/cnnlab/report/build.py") == {"report"}
    assert stages_covering("src/cnnlab/explain/gradcam.py") == {"saliency"}
    assert stages_covering("src/cnnlab/figures/data.py") == {"data_overview"}
    assert not stages_covering("src/cnnlab/report/build.py") & stages_covering("src/cnnlab/train/loop.py")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_check_finds_lazy_and_package_imports_and_write_fixes_only_the_code_deps(tmp_path, capsys):
    write(tmp_path, {
        "src/cnnlab/__init__.py": '"""docstring only: runs nothing."""\n',
        "src/cnnlab/a.py": "def f():\n    from cnnlab.b import g  # lazy: still runs when f does\n    return g()\n",
        "src/cnnlab/b.py": "def g():\n    return 1\n",
        "src/cnnlab/pkg/__init__.py": "from cnnlab.pkg.c import h  # runs whenever pkg is imported\n",
        "src/cnnlab/pkg/c.py": "def h():\n    return 2\n",
        "src/cnnlab/pkg/d.py": "def unused():\n    return 3\n",
        "src/cnnlab/e.py": "from typing import TYPE_CHECKING\nfrom cnnlab import pkg\n"
                            "if TYPE_CHECKING:\n    from cnnlab.pkg.d import unused  # annotations only: never runs\n",
        "stages/one.py": "from cnnlab.a import f\nfrom cnnlab.e import pkg\n",
        "dvc.yaml": "stages:\n  # a comment kept\n  one:\n    cmd: python stages/one.py --flag\n    deps:\n"
                    "      - stages/one.py\n      - src/cnnlab/a.py\n      - src/cnnlab/pkg\n      - data/in.txt\n"
                    "    outs:\n      - out.txt\n",
    })
    assert code_files(tmp_path, tmp_path / "stages/one.py") == {
        "stages/one.py", "src/cnnlab/a.py", "src/cnnlab/b.py", "src/cnnlab/e.py", "src/cnnlab/pkg/__init__.py",
        "src/cnnlab/pkg/c.py"}
    assert python_files(tmp_path, "src/cnnlab/pkg") == {"src/cnnlab/pkg/__init__.py", "src/cnnlab/pkg/c.py",
                                                        "src/cnnlab/pkg/d.py"}
    [found] = drift(tmp_path)
    assert found.missing == ["src/cnnlab/b.py", "src/cnnlab/e.py"] and found.extra == ["src/cnnlab/pkg/d.py"]
    assert main(["--root", str(tmp_path)]) == 1
    assert "one: imports but does not list src/cnnlab/b.py, src/cnnlab/e.py; lists but never imports " \
           "src/cnnlab/pkg/d.py" in capsys.readouterr().out

    assert main(["--root", str(tmp_path), "--write"]) == 0
    text = (tmp_path / "dvc.yaml").read_text()
    assert "# a comment kept" in text
    assert yaml.safe_load(text)["stages"]["one"] == {
        "cmd": "python stages/one.py --flag",
        "deps": ["stages/one.py", "src/cnnlab/a.py", "src/cnnlab/b.py", "src/cnnlab/e.py",
                 "src/cnnlab/pkg/__init__.py", "src/cnnlab/pkg/c.py", "data/in.txt"],
        "outs": ["out.txt"]}
    assert drift(tmp_path) == []
    (tmp_path / "src/cnnlab/pkg/d.py").unlink()  # now pkg's every file is imported: the folder stands for them
    assert drift(tmp_path)[0].expected[-1] == "src/cnnlab/pkg"


def library_modules() -> dict[str, set[str]]:
    """Each cnnlab source file (relative to src/cnnlab) and the cnnlab modules it imports."""
    from cnnlab.stage_deps import imported_modules

    base = ROOT / "src" / "cnnlab"
    return {p.relative_to(base).as_posix(): imported_modules(p) for p in base.rglob("*.py")
            if "__pycache__" not in p.parts}


def test_training_code_is_imported_only_by_training_and_the_runs_that_train():
    """What several stages run (devices, checkpoints, predict) lives in runtime/; train/ is the loop."""
    importers = {f for f, modules in library_modules().items()
                 if any(m == "cnnlab.train" or m.startswith("cnnlab.train.") for m in modules)}
    assert {f for f in importers if not f.startswith("train/")} == {"repeat.py"}  # repeat@V-S trains a seed


def test_only_tracking_and_the_model_it_logs_import_mlflow():
    """tracking.py holds the runs; serving.py is the pyfunc model MLflow stores and loads (so
    it subclasses MLflow's), imported only by the training that logs it."""
    import ast

    base = ROOT / "src" / "cnnlab"
    users = set()
    for path in base.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "mlflow" for n in names):
                users.add(path.relative_to(base).as_posix())
    assert users == {"tracking.py", "serving.py"}
    importers = {f for f, modules in library_modules().items() if "cnnlab.serving" in modules}
    assert importers == {"train/run.py"}
