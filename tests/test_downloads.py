"""Downloads, served from local files: a file that does not match its published checksum
is refused and leaves nothing; a killed download's leftovers never pass for complete."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from cnnlab.data import sources
from cnnlab.errors import UserError
from cnnlab.models import transfer
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import DataParams


@pytest.fixture
def server(tmp_path):
    """An HTTP server on localhost serving tmp_path/server: what a download site does."""
    root = tmp_path / "server"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(root=root, url=lambda name: f"http://127.0.0.1:{httpd.server_address[1]}/{name}")
    httpd.shutdown()
    httpd.server_close()


def spec(arch):
    return parse_model_spec({"name": arch, "input_size": 64}, "variants.t.model")


def serve_weights(monkeypatch, server, data: bytes, name: str) -> None:
    """Serve a weights file and point the model's weights entry at it."""
    (server.root / name).write_bytes(data)
    monkeypatch.setattr(transfer, "weights_entry", lambda arch, args: SimpleNamespace(url=server.url(name)))


def saved(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def mobilenet_state():
    from torchvision import models

    torch.manual_seed(3)
    return models.get_model("mobilenet_v2", weights=None).state_dict()


def test_weights_whose_hash_does_not_match_their_name_are_refused_and_leave_nothing(tmp_path, monkeypatch, server):
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    serve_weights(monkeypatch, server, saved(mobilenet_state()), "mobilenet_v2-00000000.pth")  # not its hash
    with pytest.raises(UserError) as err:
        build_model(spec("mobilenet_v2"), 3, 32, 4, pretrained=True)
    assert "invalid hash value" in str(err.value) and "mobilenet_v2-00000000.pth" in str(err.value)
    assert not home.exists(), "a refused download must leave no file or folder behind"


def test_weights_matching_their_published_hash_are_downloaded_and_used(tmp_path, monkeypatch, server):
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    state = mobilenet_state()
    name = f"mobilenet_v2-{hashlib.sha256(saved(state)).hexdigest()[:8]}.pth"
    serve_weights(monkeypatch, server, saved(state), name)
    model = build_model(spec("mobilenet_v2"), 3, 32, 4, pretrained=True)
    assert torch.equal(model.backbone.features[0][0].weight, state["features.0.0.weight"])
    assert [p.name for p in (home / "hub" / "checkpoints").iterdir()] == [name]


def test_a_dataset_archive_failing_its_published_md5_is_refused_and_leaves_nothing(tmp_path, monkeypatch, server):
    import torchvision.datasets.cifar as cifar

    fake = server.root / "cifar-10-python.tar.gz"
    with tarfile.open(fake, "w:gz") as tf:
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.size = 5
        tf.addfile(info, io.BytesIO(b"hello"))
    monkeypatch.setattr(cifar.CIFAR10, "url", server.url(fake.name))
    target = tmp_path / "downloads"
    with pytest.raises(UserError) as err:
        sources.load_source(DataParams(dataset="cifar10", download_dir=str(target)))
    assert "Could not download cifar10 (RuntimeError: File not found or corrupted.)" in str(err.value)
    assert not target.exists(), "nothing a later run could take for complete"


def test_what_a_killed_download_left_is_swept_and_never_taken_for_complete(tmp_path):
    download_dir = tmp_path / "downloads"
    dead = download_dir / ".toy.99999999.abcd"  # a staging folder of a process that no longer runs
    (dead / "toy").mkdir(parents=True)
    (dead / "toy" / "half.bin").write_bytes(b"\x00" * 10)
    fetched = []

    def fetch(root: Path) -> None:
        (root / "toy").mkdir()
        (root / "toy" / "whole.bin").write_bytes(b"\x01" * 100)
        fetched.append(root)

    download = sources.Download("file:///toy", "toy/", lambda root: (root / "toy" / "whole.bin").is_file(), fetch)
    sources.ensure_downloaded("toy", download, download_dir)
    assert fetched, "the leftover must not pass for the download"
    assert sorted(p.name for p in download_dir.iterdir()) == ["toy"]
    assert [p.name for p in (download_dir / "toy").iterdir()] == ["whole.bin"]
