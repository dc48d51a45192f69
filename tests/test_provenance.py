"""The report's provenance line: commit, uncommitted code, DVC experiment, changed params."""

import subprocess

import yaml

from cnnlab.provenance import MISSING, changed_params, provenance


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_changed_params_are_the_dotted_keys_that_differ_lists_whole():
    committed = {"train": {"lr": 0.001, "optimizer": "adam", "model": {"channels": [32, 64]}}, "seeds": [42]}
    current = {"train": {"lr": 0.02, "optimizer": "adam", "model": {"channels": [16, 32]}}, "seeds": [42],
               "variants": {"baseline": {"lr": "auto"}}}
    assert changed_params(committed, current) == [
        ("train.lr", 0.001, 0.02), ("train.model.channels", [32, 64], [16, 32]),
        ("variants.baseline.lr", MISSING, "auto")]
    assert changed_params(current, current) == []


def test_provenance_names_the_commit_what_is_uncommitted_and_the_experiment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    params = {"train": {"optimizer": "adam", "lr": 0.001}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "train.py").write_text("print('v1')\n")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True).stdout.strip()
    clean = provenance()
    assert (clean.commit, clean.dirty, clean.experiment, clean.changed) == (head, [], "", [])
    assert clean.lines() == [f"Provenance: git commit {head} (no uncommitted code changes); dvc repro (not an "
                             "experiment). Params changed from the commit's params.yaml: none."]

    # what `dvc exp run -S train.optimizer=sgd` leaves: params and the lock changed; plus an edit to code
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"train": {"optimizer": "sgd", "lr": 0.001}}))
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (tmp_path / "train.py").write_text("print('v2')\n")
    monkeypatch.setenv("DVC_EXP_NAME", "sgd")
    run = provenance()
    assert run.dirty == ["train.py"] and run.experiment == "sgd"
    assert run.lines() == [f"Provenance: git commit {head} (uncommitted changes in train.py); DVC experiment sgd. "
                           "Params changed from the commit's params.yaml: train.optimizer: adam → sgd."]


def test_outside_git_it_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert provenance().lines() == ["Provenance: not in a git repository, so no commit or changed params to show."]
