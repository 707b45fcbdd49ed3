"""Settings: project root discovery, NINEFOLD_* overrides, ninefold.toml and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ninefold import load_settings
from ninefold.config import find_project_root
from ninefold.errors import ConfigError
from ninefold.store.database import Database
from ninefold.tracking.client import Client

ENV_VARS = ("NINEFOLD_STORE_URL", "NINEFOLD_ARTIFACT_ROOT", "NINEFOLD_HOME")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def _project(tmp_path: Path, toml: str = "") -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "ninefold.toml").write_text(toml)
    return root


def test_root_is_found_by_walking_up_to_ninefold_toml(tmp_path: Path) -> None:
    root = _project(tmp_path)
    deep = root / "src" / "pkg" / "sub"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == root.resolve()
    settings = load_settings(deep)
    assert settings.project_root == root.resolve()
    assert settings.data_dir == root.resolve() / ".ninefold"
    assert settings.store_url == f"sqlite:///{root.resolve() / '.ninefold' / 'ninefold.db'}"
    assert settings.artifact_root == str(root.resolve() / ".ninefold" / "artifacts")


def test_root_is_found_by_a_dot_ninefold_folder(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".ninefold").mkdir(parents=True)
    (root / "notebooks").mkdir()
    assert load_settings(root / "notebooks").project_root == root.resolve()


def test_nearest_project_wins(tmp_path: Path) -> None:
    outer = _project(tmp_path)
    inner = outer / "inner"
    inner.mkdir()
    (inner / "ninefold.toml").write_text("")
    assert load_settings(inner).project_root == inner.resolve()
    assert load_settings(outer).project_root == outer.resolve()


def test_a_file_named_dot_ninefold_does_not_mark_a_project(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    (folder / ".ninefold").write_text("not a folder")
    assert find_project_root(folder) != folder.resolve()


def test_default_start_is_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    (root / "a").mkdir()
    monkeypatch.chdir(root / "a")
    assert load_settings().project_root == root.resolve()


def test_outside_a_project_ninefold_home_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "somewhere"
    outside.mkdir()
    home = tmp_path / "nf-home"
    monkeypatch.setenv("NINEFOLD_HOME", str(home))
    settings = load_settings(outside)
    assert settings.project_root is None
    assert settings.data_dir == home
    assert settings.store_url == f"sqlite:///{home / 'ninefold.db'}"
    assert settings.artifact_root == str(home / "artifacts")


def test_relative_ninefold_home_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "somewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("NINEFOLD_HOME", "rel-home")
    settings = load_settings()
    assert settings.data_dir == outside.resolve() / "rel-home"
    assert settings.data_dir.is_absolute()


def test_environment_overrides_defaults_and_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(
        tmp_path, '[store]\nurl = "postgresql://db/x"\nartifact_root = "s3://bucket/x"\n'
    )
    monkeypatch.setenv("NINEFOLD_STORE_URL", "sqlite:////data/env.db")
    monkeypatch.setenv("NINEFOLD_ARTIFACT_ROOT", "s3://env-bucket/prefix")
    settings = load_settings(root)
    assert settings.store_url == "sqlite:////data/env.db"
    assert settings.artifact_root == "s3://env-bucket/prefix"
    # The project is still found; only the two stores moved.
    assert settings.project_root == root.resolve()


def test_store_table_of_ninefold_toml_is_honoured(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        '[store]\nurl = "postgresql://user@db/ninefold"\nartifact_root = "s3://bucket/nf"\n',
    )
    settings = load_settings(root)
    assert settings.store_url == "postgresql://user@db/ninefold"
    assert settings.artifact_root == "s3://bucket/nf"


def test_relative_paths_in_ninefold_toml_are_taken_from_the_project_root(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path, '[store]\nurl = "sqlite:///data/meta.db"\nartifact_root = "blobs/here"\n'
    )
    sub = root / "deep" / "er"
    sub.mkdir(parents=True)
    from_root = load_settings(root)
    from_sub = load_settings(sub)
    resolved = root.resolve()
    assert from_root.artifact_root == str(resolved / "blobs" / "here")
    assert from_root.store_url == f"sqlite:///{resolved / 'data' / 'meta.db'}"
    # The same stores from any subdirectory.
    assert (from_sub.store_url, from_sub.artifact_root) == (
        from_root.store_url,
        from_root.artifact_root,
    )


def test_bare_sqlite_path_in_ninefold_toml_is_taken_from_the_project_root(tmp_path: Path) -> None:
    root = _project(tmp_path, '[store]\nurl = "meta/store.db"\n')
    assert load_settings(root).store_url == f"sqlite:///{root.resolve() / 'meta' / 'store.db'}"


def test_absolute_paths_in_ninefold_toml_are_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    root = _project(
        tmp_path,
        f'[store]\nurl = "sqlite:///{elsewhere}/m.db"\nartifact_root = "{elsewhere}/blobs"\n',
    )
    settings = load_settings(root)
    assert settings.store_url == f"sqlite:///{elsewhere}/m.db"
    assert settings.artifact_root == f"{elsewhere}/blobs"


def test_tracking_table_is_honoured(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        '[tracking]\ndefault_experiment = "churn"\nflush_interval_s = 0.5\n'
        "heartbeat_interval_s = 3\n",
    )
    settings = load_settings(root)
    assert settings.default_experiment == "churn"
    assert settings.flush_interval_s == 0.5
    assert settings.heartbeat_interval_s == 3.0


def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    root = _project(tmp_path, "[store\nurl = \n")
    with pytest.raises(ConfigError) as info:
        load_settings(root)
    assert str(root / "ninefold.toml") in str(info.value)
    assert "TOML" in str(info.value)


@pytest.mark.parametrize("value", ["0", "-1", '"fast"', "true", "nan", "inf", "[1]"])
def test_bad_flush_interval_is_a_config_error(tmp_path: Path, value: str) -> None:
    root = _project(tmp_path, f"[tracking]\nflush_interval_s = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(root)
    message = str(info.value)
    assert "flush_interval_s" in message
    assert "positive number" in message
    assert "ninefold.toml" in message


def test_bad_heartbeat_interval_is_a_config_error(tmp_path: Path) -> None:
    root = _project(tmp_path, "[tracking]\nheartbeat_interval_s = 0\n")
    with pytest.raises(ConfigError, match="heartbeat_interval_s"):
        load_settings(root)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[store]\nurl = 5\n", "url"),
        ('[store]\nurl = ""\n', "url"),
        ("[store]\nartifact_root = 1\n", "artifact_root"),
        ('[store]\nartifact_root = ["a"]\n', "artifact_root"),
        ("[tracking]\ndefault_experiment = 3\n", "default_experiment"),
    ],
)
def test_non_string_settings_are_config_errors(tmp_path: Path, toml: str, key: str) -> None:
    root = _project(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_settings(root)
    assert key in str(info.value)
    assert str(root / "ninefold.toml") in str(info.value)


@pytest.mark.parametrize("toml", ['store = "sqlite"\n', "tracking = 3\n"])
def test_store_and_tracking_must_be_tables(tmp_path: Path, toml: str) -> None:
    root = _project(tmp_path, toml)
    with pytest.raises(ConfigError, match="must be tables"):
        load_settings(root)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://user@localhost/db", "Unsupported database 'mysql'"),
        ("sqlite:///:memory:", "In-memory SQLite"),
        ("sqlite://", "In-memory SQLite"),
    ],
)
def test_unsupported_store_urls_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, fragment: str
) -> None:
    root = _project(tmp_path)
    monkeypatch.setenv("NINEFOLD_STORE_URL", url)
    monkeypatch.chdir(root)
    assert load_settings().store_url == url
    with pytest.raises(ConfigError) as info:
        Client()
    assert fragment in str(info.value)
    with pytest.raises(ConfigError):
        Database(url)


def test_unparsable_store_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a valid database URL"):
        Database("postgresql://user@host:notaport/db")
