"""Artifacts logged through runs: files, folders, text, dicts, figures, listing and download."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import ninefold as nf
from ninefold.errors import ArtifactNotFound, InvalidArgument, InvalidName
from ninefold.tracking.client import Client, get_client

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A folder with nested files to log."""
    root = tmp_path / "outputs"
    (root / "plots" / "deep").mkdir(parents=True)
    (root / "report.md").write_text("# report\n")
    (root / "plots" / "a.csv").write_text("x,y\n1,2\n")
    (root / "plots" / "deep" / "b.bin").write_bytes(bytes(range(256)))
    return root


def test_log_artifact_and_read_back(client: Client, tmp_path: Path) -> None:
    src = tmp_path / "model.txt"
    src.write_text("weights 1 2 3\n")
    with nf.start_run() as run:
        top = nf.log_artifact(src)
        under = nf.log_artifact(src, "models/v1/")
    assert top.path == "model.txt"
    assert under.path == "models/v1/model.txt"
    assert top.digest == under.digest
    assert top.size == len("weights 1 2 3\n")
    assert client.read_text(run.run_id, "models/v1/model.txt") == "weights 1 2 3\n"
    paths = [e.path for e in nf.list_artifacts(run.run_id) if not e.path.startswith("environment")]
    assert paths == ["model.txt", "models/v1/model.txt"]


def test_log_artifacts_keeps_the_folder_layout(
    client: Client, local_dir: Path, tmp_path: Path
) -> None:
    with nf.start_run() as run:
        entries = nf.log_artifacts(local_dir, "out")
    assert sorted(e.path for e in entries) == [
        "out/plots/a.csv",
        "out/plots/deep/b.bin",
        "out/report.md",
    ]
    listed = nf.list_artifacts(run.run_id, "out/plots")
    assert [e.path for e in listed] == ["out/plots/a.csv", "out/plots/deep/b.bin"]
    assert [e.size for e in listed] == [8, 256]
    # A prefix that is only a string prefix of a folder name does not match.
    assert nf.list_artifacts(run.run_id, "out/plo") == []

    # Downloading a folder puts its contents under dst, keeping the layout.
    dst = tmp_path / "dl"
    got = nf.download_artifacts(run.run_id, "out", dst)
    assert got == dst
    assert _tree(dst) == _tree(local_dir)

    # Downloading everything keeps the full artifact paths.
    everything = tmp_path / "all"
    nf.download_artifacts(run.run_id, "", everything)
    assert _tree(everything / "out") == _tree(local_dir)


def test_download_a_single_file(client: Client, local_dir: Path, tmp_path: Path) -> None:
    with nf.start_run() as run:
        nf.log_artifacts(local_dir)
    got = nf.download_artifacts(run.run_id, "plots/deep/b.bin", tmp_path / "one")
    assert got == tmp_path / "one" / "b.bin"
    assert got.read_bytes() == bytes(range(256))
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["b.bin"]


def test_missing_things_are_artifact_not_found(client: Client, tmp_path: Path) -> None:
    with nf.start_run() as run:
        with pytest.raises(ArtifactNotFound, match=r"nope\.txt"):
            nf.log_artifact(tmp_path / "nope.txt")
        with pytest.raises(ArtifactNotFound, match="no such directory"):
            nf.log_artifacts(tmp_path / "missing_dir")
        with pytest.raises(InvalidArgument, match=r"is a folder; use log_artifacts\(\)"):
            nf.log_artifact(tmp_path)
        (tmp_path / "plain.txt").write_text("x")
        with pytest.raises(ArtifactNotFound, match="no such directory"):
            nf.log_artifacts(tmp_path / "plain.txt")
        nf.log_text("hello", "notes/hello.txt")
    with pytest.raises(ArtifactNotFound, match=r"notes/hello\.txt"):
        nf.download_artifacts(run.run_id, "notes/other.txt", tmp_path / "x")
    with pytest.raises(ArtifactNotFound, match="is a folder"):
        client.read_text(run.run_id, "notes")


def test_log_text_and_log_dict(client: Client) -> None:
    data = {"name": "iris", "layers": [64, 32], "nested": {"dropout": 0.1, "ok": True}}
    with nf.start_run() as run:
        nf.log_text("héllo wörld\n", "text/greeting.txt")
        nf.log_dict(data, "config.json")
        nf.log_dict(data, "config.yaml")
        nf.log_dict([1, 2, 3], "list.yml")
    assert client.read_text(run.run_id, "text/greeting.txt") == "héllo wörld\n"
    assert client.read_dict(run.run_id, "config.json") == data
    assert client.read_dict(run.run_id, "config.yaml") == data
    assert client.read_dict(run.run_id, "list.yml") == [1, 2, 3]
    # The files are really JSON and YAML, not one format under two names.
    assert json.loads(client.read_text(run.run_id, "config.json")) == data
    yaml_text = client.read_text(run.run_id, "config.yaml")
    assert "layers:" in yaml_text
    assert yaml.safe_load(yaml_text) == data
    with nf.start_run(), pytest.raises(InvalidArgument, match="needs a str"):
        nf.log_text(b"bytes", "x.txt")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["../escape.txt", "/abs.txt", "a/../../b.txt", ""])
def test_bad_artifact_paths_are_refused(project: Path, path: str) -> None:
    with nf.start_run(), pytest.raises(InvalidName, match="Artifact path"):
        nf.log_text("x", path)


def test_log_figure_matplotlib(client: Client) -> None:
    from matplotlib.figure import Figure  # Agg canvas; no GUI backend needed

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1, 2], [2, 1, 3])
    with nf.start_run() as run:
        png = nf.log_figure(fig, "plots/curve.png")
        svg = nf.log_figure(fig, "plots/curve.svg")
    data = client.read_artifact(run.run_id, "plots/curve.png")
    assert data.startswith(PNG_MAGIC)
    assert png.size == len(data)
    assert b"<svg" in client.read_artifact(run.run_id, "plots/curve.svg")
    assert svg.digest != png.digest


def test_log_figure_plotly(client: Client) -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="loss"))
    with nf.start_run() as run:
        nf.log_figure(fig, "plots/loss.html")
        nf.log_figure(fig, "plots/loss.json")
        with pytest.raises(InvalidArgument, match=r"\.html or \.json") as info:
            nf.log_figure(fig, "plots/loss.png")
        assert "loss.png" in str(info.value)
        with pytest.raises(InvalidArgument, match="matplotlib or Plotly"):
            nf.log_figure(object(), "plots/x.png")
    html = client.read_text(run.run_id, "plots/loss.html")
    assert "<html>" in html
    assert "</html>" in html
    assert "cdn.plot.ly" in html  # plotly.js is loaded from its CDN, not inlined
    spec = client.read_dict(run.run_id, "plots/loss.json")
    assert spec["data"][0]["name"] == "loss"
    assert [e.path for e in nf.list_artifacts(run.run_id, "plots")] == [
        "plots/loss.html",
        "plots/loss.json",
    ]


def test_relogging_a_path_replaces_it(client: Client) -> None:
    with nf.start_run() as run:
        nf.log_text("v1", "notes.txt")
        nf.log_text("v2", "notes.txt")
    assert client.read_text(run.run_id, "notes.txt") == "v2"
    assert [e.path for e in nf.list_artifacts(run.run_id, "notes.txt")] == ["notes.txt"]


def test_refused_artifact_paths_store_no_bytes(project: Path, tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(b"weights")
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine")
    (folder / "bad\\name.txt").write_text("refused")
    with nf.start_run(capture_environment=False) as run:
        with pytest.raises(InvalidName, match=r"\.\./up/model\.bin"):
            nf.log_artifact(src, "../up")
        with pytest.raises(InvalidName, match=r"bad\\\\name\.txt"):
            nf.log_artifacts(folder)
    store = get_client().artifacts
    assert list(store.digests()) == []
    assert nf.list_artifacts(run.run_id) == []


def test_log_dict_writes_numpy_values_as_plain_numbers(project: Path) -> None:
    import numpy as np

    data = {"lr": np.float64(0.5), "epochs": np.int64(3), "sizes": np.arange(3), "f": np.float32(2)}
    plain = {"lr": 0.5, "epochs": 3, "sizes": [0, 1, 2], "f": 2.0}
    with nf.start_run(capture_environment=False) as run:
        nf.log_dict(data, "params.json")
        nf.log_dict(data, "params.yaml")
    client = get_client()
    assert client.read_dict(run.run_id, "params.json") == plain
    assert client.read_dict(run.run_id, "params.yaml") == plain
    assert "np." not in client.read_text(run.run_id, "params.yaml")
