"""``ninefold models list | show | alias | history`` and ``ninefold artifacts list | get``."""

from __future__ import annotations

from pathlib import Path

from ninefold.tracking.client import Client
from tests.cli.conftest import History, Invoke, as_json


def test_models_list_and_show(cli: Invoke, history: History) -> None:
    models = as_json(cli("models", "list", "--json"))
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in models] == [
        ("iris-clf", 2, {"champion": 2})
    ]
    assert "@champion→v2" in cli("models", "list").stdout

    versions = as_json(cli("models", "show", "iris-clf", "--json"))
    assert [(v["version"], v["run_id"], v["aliases"]) for v in versions] == [
        (2, history.rf, ["champion"]),
        (1, history.lr, []),
    ]
    assert all(v["format"] == "pickle" and len(v["digest"]) == 64 for v in versions)
    table = cli("models", "show", "iris-clf").stdout
    assert "2 version(s)" in table
    assert history.rf in table

    champion = as_json(cli("models", "show", "models:/iris-clf@champion", "--json"))
    assert champion["model"]["version"] == 2
    assert champion["run"]["run_id"] == history.rf
    assert champion["run"]["params"] == {"C": "1.0", "model": "rf"}
    assert as_json(cli("models", "show", "iris-clf", "-v", "1", "--json"))["inputs"] == [
        {"kind": "dataset", "ref": "iris@1", "context": None}
    ]
    assert (
        as_json(cli("models", "show", "iris-clf", "--version", "champion", "--json"))["model"][
            "uri"
        ]
        == "models:/iris-clf/2"
    )
    one = cli("models", "show", "models:/iris-clf/1").stdout
    assert "models:/iris-clf/1" in one
    assert "iris@1" in one
    assert history.lr in one

    both = cli("models", "show", "models:/iris-clf/1", "--version", "2", code=2)
    assert "already names a version" in both.stderr
    missing = cli("models", "show", "nope", code=1)
    assert "ModelNotFound" in missing.stderr
    assert "'nope'" in missing.stderr
    alias = cli("models", "show", "models:/iris-clf@prod", code=1)
    assert "champion" in alias.stderr  # names the aliases that exist
    version = cli("models", "show", "iris-clf", "-v", "7", code=1)
    assert "latest is 2" in version.stderr


def test_models_alias_move_delete_and_history(cli: Invoke, history: History) -> None:
    moved = as_json(cli("models", "alias", "iris-clf", "champion", "1", "--json"))
    assert moved == {"name": "iris-clf", "alias": "champion", "version": 1, "previous_version": 2}
    created = cli("models", "alias", "iris-clf", "challenger", "2").stdout
    assert "iris-clf@challenger → v2" in created
    assert "was" not in created
    assert "(was v2)" in cli("models", "alias", "iris-clf", "challenger", "1").stdout
    deleted = as_json(cli("models", "alias", "iris-clf", "champion", "--delete", "--json"))
    assert deleted == {"name": "iris-clf", "alias": "champion", "version": None}
    assert as_json(cli("models", "list", "--json"))[0]["aliases"] == {"challenger": 1}

    changes = as_json(cli("models", "history", "iris-clf", "--json"))
    assert [(c["alias"], c["previous_version"], c["version"]) for c in changes] == [
        ("champion", None, 2),
        ("champion", 2, 1),
        ("challenger", None, 2),
        ("challenger", 2, 1),
        ("champion", 1, None),
    ]
    only = as_json(cli("models", "history", "iris-clf", "challenger", "--json"))
    assert [c["version"] for c in only] == [2, 1]
    table = cli("models", "history", "iris-clf").stdout
    assert "(removed)" in table
    assert "@challenger" in table


def test_models_alias_errors(cli: Invoke, history: History) -> None:
    usage = cli("models", "alias", "iris-clf", "champion", code=2)
    assert "VERSION" in usage.stderr
    not_a_number = cli("models", "alias", "iris-clf", "a", "x", code=2).stderr
    assert "'version'" in not_a_number
    assert "integer" in not_a_number
    reserved = cli("models", "alias", "iris-clf", "latest", "1", code=1)
    assert "InvalidName" in reserved.stderr
    missing = cli("models", "alias", "iris-clf", "champion", "9", code=1)
    assert "ModelNotFound" in missing.stderr
    not_set = cli("models", "alias", "iris-clf", "nope", "--delete", code=1)
    assert "ModelNotFound" in not_set.stderr
    assert as_json(cli("models", "list", "--json"))[0]["aliases"] == {"champion": 2}


def test_artifacts_list(cli: Invoke, history: History) -> None:
    entries = as_json(cli("artifacts", "list", history.lr, "--json"))
    paths = [e["path"] for e in entries]
    assert {"notes/readme.txt", "notes/cfg.json", "models/iris-clf/model.pkl"} <= set(paths)
    notes = as_json(cli("artifacts", "list", history.lr, "notes", "--json"))
    assert sorted(e["path"] for e in notes) == ["notes/cfg.json", "notes/readme.txt"]
    readme = next(e for e in notes if e["path"] == "notes/readme.txt")
    assert readme["size"] == len(b"hello")
    table = cli("artifacts", "list", history.lr, "notes").stdout
    assert "2 file(s)" in table
    assert "notes/cfg.json" in table
    unknown = cli("artifacts", "list", "0123abcd", code=1)
    assert "RunNotFound" in unknown.stderr


def test_artifacts_get_file_and_folder(cli: Invoke, history: History, tmp_path: Path) -> None:
    one = tmp_path / "one"
    result = as_json(
        cli("artifacts", "get", f"runs:/{history.lr}/notes/readme.txt", "-o", str(one), "--json")
    )
    assert (one / "readme.txt").read_bytes() == b"hello"
    assert Path(result["path"]) == one / "readme.txt"

    folder = tmp_path / "folder"
    cli("artifacts", "get", f"runs:/{history.lr}/notes", "--output", str(folder))
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["cfg.json", "readme.txt"]
    downloaded = {p.name: p for p in folder.rglob("*") if p.is_file()}
    assert downloaded["readme.txt"].read_text() == "hello"
    assert '"depth": 3' in downloaded["cfg.json"].read_text()

    missing = cli("artifacts", "get", f"runs:/{history.lr}/nope.txt", "-o", str(tmp_path), code=1)
    assert "ArtifactNotFound" in missing.stderr
    assert "notes/readme.txt" in missing.stderr  # lists what the run has

    bad = cli("artifacts", "get", "foo:/x", "-o", str(tmp_path), code=1)
    assert "InvalidArgument" in bad.stderr
    assert "runs:/<run_id>/<path>" in bad.stderr
    dataset = cli("artifacts", "get", "datasets:/iris@1", "-o", str(tmp_path), code=2)
    assert "dataset" in dataset.stderr


def test_artifacts_get_model(cli: Invoke, history: History, client: Client, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = as_json(cli("artifacts", "get", "models:/iris-clf@champion", "-o", str(out), "--json"))
    local = Path(result["path"])
    assert local.parent == out
    champion = client.store.models.get_version("iris-clf", 2)
    assert local.read_bytes() == client.artifacts.read_bytes(champion.digest)
    by_number = tmp_path / "v1"
    cli("artifacts", "get", "models:/iris-clf/1", "-o", str(by_number))
    v1 = client.store.models.get_version("iris-clf", 1)
    assert (by_number / "model.pkl").read_bytes() == client.artifacts.read_bytes(v1.digest)
    assert (by_number / "model.pkl").read_bytes() != local.read_bytes()
