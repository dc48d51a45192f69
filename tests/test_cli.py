import subprocess
import sys

import yaml

from tests.conftest import ROOT


def run_stage(script, params_file, cwd, *args):
    return subprocess.run([sys.executable, str(ROOT / "stages" / script), "--params", str(params_file), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_bad_params_stop_a_stage_with_one_message_and_no_traceback(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["split"]["val_fraction"] = 1.5
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(raw))
    result = run_stage("split.py", bad, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: params.yaml: split.val_fraction must be < 1.0")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing written


def test_a_stage_run_out_of_order_says_what_to_run_first(tmp_path):
    result = run_stage("stats.py", ROOT / "params.yaml", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "dvc repro" in result.stderr


def test_an_unknown_variant_is_named(tmp_path):
    result = run_stage("train.py", ROOT / "params.yaml", tmp_path, "--variant", "nonesuch")
    assert result.returncode == 2 and "no variant 'nonesuch'" in result.stderr
