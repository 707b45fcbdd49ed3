"""Dataset versions: fingerprints, numbering, stored profiles, lineage, URIs."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

import ninefold as nf
from ninefold.data import (
    fingerprint,
    infer_schema,
    list_dataset_versions,
    list_datasets,
    load_dataset_schema,
    profile,
)
from ninefold.errors import DatasetNotFound, InvalidArgument, InvalidName
from ninefold.store import MetadataStore
from ninefold.tracking.client import Client
from tests.data.helpers import mixed_frame


def test_fingerprint_depends_on_content_not_on_storage() -> None:
    df = pl.DataFrame({"a": [1, 2, None], "s": ["x", None, "yz"], "f": [0.0, -0.0, float("nan")]})
    base = fingerprint(df)
    assert len(base) == 64
    rechunked = pl.concat([df.head(1), df.tail(2)], rechunk=False)
    assert fingerprint(rechunked) == base
    assert fingerprint(df.with_columns(pl.col("a").cast(pl.Int32))) == base
    assert fingerprint(df.with_columns(pl.col("s").cast(pl.Categorical))) == base
    assert fingerprint(df.with_columns(pl.col("f").fill_nan(None))) != base
    assert fingerprint(df.with_columns(s=pl.Series(["xy", None, "z"]))) != base
    assert fingerprint(df.rename({"a": "b"})) != base
    assert fingerprint(df.reverse()) != base


def test_fingerprint_is_the_same_in_a_fresh_process(tmp_path: Path) -> None:
    df = mixed_frame(300)
    path = tmp_path / "d.parquet"
    df.write_parquet(path)
    code = f"from ninefold.data import fingerprint; print(fingerprint({str(path)!r}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == fingerprint(df)


def test_versions_count_up_and_same_content_is_the_same_version(client: Client) -> None:
    df = mixed_frame(200)
    with nf.start_run(capture_environment=False) as run:
        v1 = nf.log_dataset(df, name="churn", context="training", tags={"split": "train"})
        again = nf.log_dataset(df.clone(), name="churn")
        v2 = nf.log_dataset(df.head(100), name="churn", description="half")
    assert (v1.version, again.version, v2.version) == (1, 1, 2)
    assert v1.uri == "datasets:/churn@1"
    assert v1.tags == {"split": "train"}
    assert v1.run_id == run.run_id
    assert v1.num_rows == 200
    assert v2.description == "half"
    inputs = {(i.kind, i.ref, i.context) for i in client.inputs(run.run_id)}
    assert inputs == {("dataset", "churn@1", "training"), ("dataset", "churn@2", None)}
    other = nf.log_dataset(df, name="churn-copy")  # same content, another name: its own v1
    assert (other.name, other.version, other.run_id) == ("churn-copy", 1, None)
    assert list_datasets() == ["churn", "churn-copy"]
    assert [v.version for v in list_dataset_versions("churn")] == [2, 1]


def test_uris_resolve_to_versions_and_stored_profiles(client: Client) -> None:
    df = mixed_frame(150)
    nf.log_dataset(df, name="iris", schema=infer_schema(df))
    nf.log_dataset(df.head(50), name="iris")
    assert nf.get_dataset("datasets:/iris@1").num_rows == 150
    assert nf.get_dataset("datasets:/iris").version == 2
    assert nf.get_dataset("datasets:/iris@latest").version == 2
    assert nf.get_dataset("iris", 1).version == 1
    stored = nf.load_dataset_profile("datasets:/iris@1")
    assert stored == profile(df, duplicates=True)
    schema = load_dataset_schema("datasets:/iris@1")
    assert schema == infer_schema(df)
    assert load_dataset_schema("datasets:/iris@2") is None


def test_unknown_datasets_and_bad_versions_are_clear_errors(client: Client) -> None:
    nf.log_dataset(pl.DataFrame({"a": [1]}), name="tiny")
    with pytest.raises(DatasetNotFound, match=r"'tiny' has no version 7; its latest is 1"):
        nf.get_dataset("datasets:/tiny@7")
    with pytest.raises(
        DatasetNotFound, match=r"No dataset named 'huge'. Known data sets: \['tiny'\]"
    ):
        nf.load_dataset_profile("datasets:/huge@1")
    with pytest.raises(InvalidArgument, match="must be a positive number or 'latest'"):
        nf.get_dataset("datasets:/tiny@v1")
    with pytest.raises(InvalidArgument, match="not both"):
        nf.get_dataset("datasets:/tiny@1", version=1)
    with pytest.raises(InvalidName, match="Dataset name 'bad name!'"):
        nf.log_dataset(pl.DataFrame({"a": [1]}), name="bad name!")


def test_concurrent_registrations_get_distinct_numbers_and_share_same_content(
    store: MetadataStore,
) -> None:
    def register(fp: str) -> int:
        version, _ = store.datasets.register(
            "shared", fingerprint=fp, num_rows=1, num_columns=1, profile_digest="0" * 64
        )
        return version.version

    with ThreadPoolExecutor(max_workers=6) as pool:
        distinct = list(pool.map(register, [f"{i:064x}" for i in range(12)]))
        same = list(pool.map(register, ["f" * 64] * 6))
    assert sorted(distinct) == list(range(1, 13))
    assert len(set(same)) == 1
    assert same[0] == 13
    assert [v.version for v in store.datasets.find("f" * 64)] == [13]
