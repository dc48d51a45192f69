"""MLflow, behind the small interface the stages use (nothing else imports mlflow): one
run per training, opened by train; the report adds the test results to it.

The store is `sqlite:///mlflow.db` at the repository root (the root of the parent
repo during `dvc exp run --temp`/queued runs, via DVC_ROOT) with artifacts under
`mlruns/`, unless MLFLOW_TRACKING_URI says otherwise. `mlflow ui --backend-store-uri
sqlite:///mlflow.db` opens it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnnlab.io import read_json, write_json
from cnnlab.schema import flatten

EXPERIMENT = "cnnlab"


def store_root() -> Path:
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store_root() / 'mlflow.db'}"


@contextlib.contextmanager
def store_lock() -> Iterator[None]:
    """One process at a time sets the store up. Two queued experiments (`dvc queue start
    -j 2`) that both find no mlflow.db would otherwise both run MLflow's table migrations
    and both create the experiment; one of them fails ("Online migration expected to
    match one row")."""
    try:
        import fcntl
    except ImportError:  # Windows: no queue workers in parallel to guard against
        yield
        return
    lock = store_root() / ".cnnlab" / "mlflow.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mlflow():
    import logging

    import mlflow

    # Alembic's migration chatter on a new store, and progress bars of local file copies,
    # are noise in a pipeline log.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri())
    with store_lock():
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            mlflow.create_experiment(EXPERIMENT, artifact_location=(store_root() / "mlruns").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return mlflow


class Run:
    """One open MLflow run, as the stages use it: its id, metrics, files."""

    def __init__(self, mlflow: Any, run_id: str):
        self._mlflow, self.id = mlflow, run_id

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._mlflow.log_metrics(metrics, step=step)

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        """A file, into the run's artifacts (under `folder` when given)."""
        self._mlflow.log_artifact(str(path), artifact_path=folder)


@contextlib.contextmanager
def start_run(variant: str, params: dict[str, Any], run_file: Path, resume_run: str | None = None,
              seed: int | None = None, run_name: str | None = None) -> Iterator[Run]:
    """Open a fresh run for a training of `variant` from training seed `seed` (or carry on
    with `resume_run`, the run of an interrupted training); its id is kept in run_file.
    Runs are tagged with their variant and seed, so the UI groups a variant's seeds."""
    mlflow = _mlflow()
    if resume_run is not None and not _exists(mlflow, resume_run):
        resume_run = None
    tags = {"variant": variant, "stage": "train"}
    if seed is not None:
        tags["seed"] = str(seed)
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_experiment"] = os.environ["DVC_EXP_NAME"]
    opened = (mlflow.start_run(run_id=resume_run) if resume_run is not None
              else mlflow.start_run(run_name=run_name or variant, tags=tags))
    with opened as run:
        if resume_run is None:
            mlflow.log_params({k: str(v)[:6000] for k, v in flatten(params).items()})
        write_json(run_file, {"run_id": run.info.run_id})
        yield Run(mlflow, run.info.run_id)


def _recorded_run(mlflow: Any, run_file: Path) -> str | None:
    """The id run_file keeps, when the store still has that run."""
    run_id = read_json(run_file)["run_id"] if run_file.exists() else None
    return run_id if run_id is not None and _exists(mlflow, run_id) else None


def _exists(mlflow: Any, run_id: str) -> bool:
    try:
        mlflow.get_run(run_id)
        return True
    except Exception:  # noqa: BLE001 - any lookup failure means the same here
        return False


REGISTERED_MODEL = "cnnlab"  # the model registry's name for each report's best variant


def register_model(run_file: Path, description: str) -> str | None:
    """Register the pyfunc model of the run that run_file keeps as a new version of
    REGISTERED_MODEL; its version, or None when the store lacks the run or its model."""
    mlflow = _mlflow()
    run_id = _recorded_run(mlflow, run_file)
    if run_id is None:
        return None
    # MLflow 3 keeps a run's models as logged models of their own, linked to the run.
    logged = mlflow.search_logged_models(filter_string=f"source_run_id = '{run_id}' AND name = 'model'",
                                         output_format="list")
    if not logged:
        return None
    version = mlflow.register_model(logged[0].model_uri, REGISTERED_MODEL)
    mlflow.MlflowClient().update_model_version(REGISTERED_MODEL, version.version, description)
    return str(version.version)


def log_results(run_file: Path, metrics: dict[str, float], files: list[Path]) -> bool:
    """Add test metrics and pictures to the training run whose id run_file keeps.

    Warns and returns False when the store no longer has that run (mlflow.db was
    deleted, or MLFLOW_TRACKING_URI now points elsewhere): tracking is a record,
    not a reason to fail the pipeline.
    """
    mlflow = _mlflow()
    run_id = _recorded_run(mlflow, run_file)
    if run_id is None:
        print(f"warning: the MLflow run of {run_file.parent} is not in {tracking_uri()}; its test results "
              f"are not logged there. Re-run training (dvc repro -f train@{run_file.parent.name}) "
              f"to record a fresh run.", file=sys.stderr)
        return False
    with mlflow.start_run(run_id=run_id):
        run = Run(mlflow, run_id)
        run.log_metrics(metrics)
        for path in files:
            run.log_artifact(path, folder="results")
    return True
