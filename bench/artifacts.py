"""[artifacts] Many small files and one large file, logged to a run and downloaded back.

Both tools store artifacts in a local folder on the same disk. ninefold hashes
every file (SHA-256, content-addressed storage) on upload and checks the hash
on download; MLflow copies files. Each repeat uses new random bytes, so
ninefold's deduplication never skips a copy. Sources are written before the
timed part (they sit in the page cache for both tools).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from bench._harness import Context, median, mlflow_folder, ninefold_project, ratio, record, step
from bench._harness import run_worker as _run
from bench._setup import mlflow_store, ninefold_client

KIB = 1024
MB = 1_000_000


def make_sources(folder: Path, repeats: int, small: int, big_mb: int) -> list[dict[str, Any]]:
    """Random files for each repeat: ``small`` files of 1 KiB and one of ``big_mb`` MB."""
    sets = []
    for r in range(repeats):
        base = folder / f"set-{r}"
        (base / "small").mkdir(parents=True)
        for i in range(small):
            (base / "small" / f"f{i:04d}.bin").write_bytes(os.urandom(KIB))
        big = base / "big.bin"
        digest = hashlib.sha256()
        with big.open("wb") as fh:
            for _ in range(big_mb):
                chunk = os.urandom(MB)
                digest.update(chunk)
                fh.write(chunk)
        sets.append({"small": str(base / "small"), "big": str(big), "sha256": digest.hexdigest()})
    return sets


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _summary(trials: list[dict[str, float]], small: int, big_bytes: int) -> dict[str, Any]:
    out: dict[str, Any] = {k: median([t[k] for t in trials]) for k in trials[0] if k != "ok"}
    out["small_files"] = small
    out["big_mb"] = big_bytes / MB
    out["repeats"] = len(trials)
    out["verified"] = all(t["ok"] for t in trials)
    return out


def _trial(
    up_small: float, up_big: float, down_small: float, down_big: float, small: int, size: int
) -> dict[str, float]:
    return {
        "upload_files_per_s": small / up_small,
        "upload_mb_per_s": size / MB / up_big,
        "download_files_per_s": small / down_small,
        "download_mb_per_s": size / MB / down_big,
    }


def ninefold_worker(sets: list[dict[str, Any]]) -> dict[str, Any]:
    """Upload with ``nf.log_artifact`` file by file, download with ``nf.download_artifacts``."""
    import ninefold as nf

    ninefold_client()
    clock = time.perf_counter
    trials = []
    for r, src in enumerate(sets):
        files = sorted(Path(src["small"]).iterdir())
        big = Path(src["big"])
        run = nf.start_run(experiment="bench", capture_environment=False)
        t0 = clock()
        for f in files:
            nf.log_artifact(f, "small")
        t1 = clock()
        nf.log_artifact(big, "big")
        t2 = clock()
        nf.end_run()
        dst = Path(f"download-{r}")
        t3 = clock()
        nf.download_artifacts(run.run_id, "small", dst / "small")
        t4 = clock()
        got = nf.download_artifacts(run.run_id, "big/big.bin", dst / "big")
        t5 = clock()
        trial = _trial(t1 - t0, t2 - t1, t4 - t3, t5 - t4, len(files), big.stat().st_size)
        n_small = sum(1 for _ in (dst / "small").rglob("*.bin"))
        trial["ok"] = n_small == len(files) and _sha256(Path(got)) == src["sha256"]
        trials.append(trial)
    return _summary(trials, len(files), big.stat().st_size)


def mlflow_worker(sets: list[dict[str, Any]]) -> dict[str, Any]:
    """Upload with ``mlflow.log_artifact`` file by file, download with ``download_artifacts``."""
    import mlflow
    from mlflow.artifacts import download_artifacts

    mlflow_store()
    clock = time.perf_counter
    trials = []
    for r, src in enumerate(sets):
        files = sorted(Path(src["small"]).iterdir())
        big = Path(src["big"])
        run = mlflow.start_run()
        t0 = clock()
        for f in files:
            mlflow.log_artifact(str(f), "small")
        t1 = clock()
        mlflow.log_artifact(str(big), "big")
        t2 = clock()
        mlflow.end_run()
        dst = Path(f"download-{r}").resolve()
        (dst / "small").mkdir(parents=True)
        (dst / "big").mkdir(parents=True)
        rid = run.info.run_id
        t3 = clock()
        download_artifacts(run_id=rid, artifact_path="small", dst_path=str(dst / "small"))
        t4 = clock()
        got = download_artifacts(run_id=rid, artifact_path="big/big.bin", dst_path=str(dst / "big"))
        t5 = clock()
        trial = _trial(t1 - t0, t2 - t1, t4 - t3, t5 - t4, len(files), big.stat().st_size)
        n_small = sum(1 for _ in (dst / "small").rglob("*.bin"))
        trial["ok"] = n_small == len(files) and _sha256(Path(got)) == src["sha256"]
        trials.append(trial)
    return _summary(trials, len(files), big.stat().st_size)


def bench(ctx: Context) -> dict[str, Any]:
    repeats = 1 if ctx.quick else 3
    small, big_mb = 100, 100
    folder = ctx.folder("artifacts")
    with step(f"artifacts: writing {repeats} x ({small} x 1 KiB + {big_mb} MB) of random bytes"):
        sets = make_sources(folder / "sources", repeats, small, big_mb)
    with step("artifacts: ninefold upload and download"):
        nf = _run("artifacts:ninefold_worker", {"sets": sets}, ninefold_project(folder))
    ml = None
    if ctx.peer:
        with step("artifacts: MLflow upload and download"):
            ml = _run("artifacts:mlflow_worker", {"sets": sets}, mlflow_folder(folder))
    ratios = (
        {k: ratio(nf[k], ml[k]) for k in nf if k.endswith("_per_s")} if ml is not None else None
    )
    worst = min(v for v in ratios.values() if v is not None) if ratios else None
    return record(
        "artifacts",
        nf,
        ml,
        worst,
        "no target in the issue; checked: files intact and ninefold >= 1x MLflow on all four "
        "figures (ratio = the smallest of the four)",
        nf["verified"] and (worst >= 1 if worst is not None else None),
        small + 1,
        "files/s for 1 KiB files, MB/s (10^6 B) for the large file",
        ratios=ratios,
    )
