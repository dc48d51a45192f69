"""Each stage depends on its own code fingerprint, which lists every file its script runs:
nothing a stage runs is left out, nothing else is in."""

import hashlib
from pathlib import Path

from cnnlab.stage_deps import code_files, drift, main, stages_running, write_fingerprints
from tests.conftest import ROOT


def test_every_stage_of_dvc_yaml_depends_on_its_fingerprint_and_on_no_code_file():
    assert drift(ROOT) == []


ALL = {"download", "split", "stats", "data_overview", "lr_find", "train", "evaluate", "repeat", "saliency", "report"}


def test_a_change_re_runs_the_stages_that_run_the_changed_code_and_no_others():
    def covering(path):
        return stages_running(ROOT, path)

    # predict (inference) is what evaluate@V and repeat@V-S test with, and what training validates with
    assert covering("src/cnnlab/runtime/inference.py") == {"lr_find", "train", "evaluate", "repeat"}
    assert {"saliency", "evaluate"} <= covering("src/cnnlab/runtime/checkpoint.py")
    assert covering("src/cnnlab/params.py") == ALL  # the schema and its defaults
    assert {"train", "lr_find", "repeat", "evaluate", "saliency"} <= covering("src/cnnlab/data/prepared.py")
    assert covering("src/cnnlab/report/build.py") == {"report"}
    assert covering("src/cnnlab/explain/gradcam.py") == {"saliency"}
    assert covering("src/cnnlab/figures/data.py") == {"data_overview"}
    assert covering("stages/train.py") == {"train"}
    assert not covering("src/cnnlab/report/build.py") & covering("src/cnnlab/train/loop.py")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


TREE = {
    "src/cnnlab/__init__.py": '"""docstring only: runs nothing."""\n',
    "src/cnnlab/a.py": "def f():\n    from cnnlab.b import g  # lazy: still runs when f does\n    return g()\n",
    "src/cnnlab/b.py": "def g():\n    return 1\n",
    "src/cnnlab/pkg/__init__.py": "from cnnlab.pkg.c import h  # runs whenever pkg is imported\n",
    "src/cnnlab/pkg/c.py": "def h():\n    return 2\n",
    "src/cnnlab/pkg/d.py": "def unused():\n    return 3\n",
    "src/cnnlab/e.py": "from typing import TYPE_CHECKING\nfrom cnnlab import pkg\n"
                        "if TYPE_CHECKING:\n    from cnnlab.pkg.d import unused  # annotations only: never runs\n",
    "stages/one.py": "from cnnlab.a import f\nfrom cnnlab.e import pkg\n",
    "stages/two.py": "from cnnlab.pkg.d import unused\n",
}


def test_fingerprints_follow_lazy_and_package_imports_and_change_only_where_the_edit_runs(tmp_path):
    write(tmp_path, TREE)
    assert code_files(tmp_path, tmp_path / "stages/one.py") == {
        "stages/one.py", "src/cnnlab/a.py", "src/cnnlab/b.py", "src/cnnlab/e.py", "src/cnnlab/pkg/__init__.py",
        "src/cnnlab/pkg/c.py"}
    written = write_fingerprints(tmp_path)
    assert set(written) == {"fingerprints/one.txt", "fingerprints/two.txt"}
    one = (tmp_path / "fingerprints/one.txt").read_text()
    # md5sum's own format: `md5sum -c fingerprints/one.txt` checks it
    assert one.splitlines()[0] == f"{hashlib.md5(TREE['src/cnnlab/a.py'].encode()).hexdigest()}  src/cnnlab/a.py"
    assert [line.split("  ")[1] for line in one.splitlines()] == sorted(
        code_files(tmp_path, tmp_path / "stages/one.py"))
    two = (tmp_path / "fingerprints/two.txt").read_text()

    (tmp_path / "src/cnnlab/b.py").write_text("def g():\n    return 10\n")  # run lazily by stage one only
    write_fingerprints(tmp_path)
    assert (tmp_path / "fingerprints/one.txt").read_text() != one
    assert (tmp_path / "fingerprints/two.txt").read_text() == two
    # imported by `two` and by `one`'s TYPE_CHECKING block, which never runs
    (tmp_path / "src/cnnlab/pkg/d.py").write_text("def unused():\n    return 30\n")
    one = (tmp_path / "fingerprints/one.txt").read_text()
    write_fingerprints(tmp_path)
    assert (tmp_path / "fingerprints/one.txt").read_text() == one
    assert (tmp_path / "fingerprints/two.txt").read_text() != two


def test_the_check_names_a_stage_without_its_fingerprint_or_with_code_files_of_its_own(tmp_path, capsys):
    write(tmp_path, TREE)
    write(tmp_path, {"dvc.yaml": "stages:\n  fingerprints:\n    cmd: python stages/fingerprints.py\n"
                                 "    deps: [src/cnnlab, stages]\n    outs: [fingerprints]\n"
                                 "  one:\n    cmd: python stages/one.py --flag\n"
                                 "    deps: [fingerprints/one.txt, data/in.txt]\n"
                                 "  two:\n    foreach: [x, y]\n    do:\n      cmd: python stages/two.py ${item}\n"
                                 "      deps: [src/cnnlab/pkg/d.py, data/in.txt]\n"})
    assert stages_running(tmp_path, "src/cnnlab/b.py") == {"one"}
    assert stages_running(tmp_path, "src/cnnlab/pkg/d.py") == {"two"}
    assert drift(tmp_path) == [
        "two: lists code files itself (src/cnnlab/pkg/d.py); replace them with fingerprints/two.txt, which covers "
        "every file its script runs",
        "two: does not depend on fingerprints/two.txt; add it to the stage's deps, or an edit of the code it runs "
        "will not re-run it"]
    assert main(["--root", str(tmp_path)]) == 1
    assert "two: does not depend on fingerprints/two.txt" in capsys.readouterr().out
    assert main(["--root", str(tmp_path), "src/cnnlab/b.py", "src/cnnlab/pkg/c.py", "README.md"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "src/cnnlab/b.py: one", "src/cnnlab/pkg/c.py: one, two", "README.md: no stage runs it"]  # d runs pkg's init


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
