"""fingerprints: which code each stage runs, one file per stage script (see cnnlab.stage_deps).

Every other stage depends on its own fingerprints/S.txt, so an edit re-runs the stages
that run the edited file and no others, while dvc.lock stays small."""

from cnnlab.params import Params
from cnnlab.stage import run_stage
from cnnlab.stage_deps import write_fingerprints


def main(params: Params) -> None:
    written = write_fingerprints()
    files = {line.split("  ", 1)[1] for text in written.values() for line in text.splitlines()}
    print(f"fingerprints: {len(written)} stages, {len(files)} code files")


if __name__ == "__main__":
    run_stage(main)
