"""Tables of the metadata store (SQLAlchemy Core).

The same tables serve SQLite and PostgreSQL. Times are UTC milliseconds,
ids are 32-character hex strings (see :mod:`ninefold._ids`). A NaN metric
value is stored as NULL (SQLite cannot store NaN); ±inf are stored as is.

Changing a table here needs a migration in ``migrations/versions``; a test
checks that the migrations produce exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)
NAME = String(256)
KEY = String(250)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", ID, primary_key=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("experiment_id", ID, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", NAME, nullable=False),
    Column("parent_run_id", ID, nullable=True),
    Column("status", String(16), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=True),
    Column("heartbeat_ms", BigInteger, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_started", Float, nullable=True),
    Column("user", String(255), nullable=False),
    Index(None, "experiment_id", "start_ms"),
    Index(None, "status"),
    Index(None, "parent_run_id"),
    Index(None, "end_ms"),
    sqlite_with_rowid=False,
)

params = Table(
    "params",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

metrics = Table(
    "metrics",
    metadata,
    Column("run_id", ID, nullable=False),
    Column("key", KEY, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Index(None, "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "digest"),
    sqlite_with_rowid=False,
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("ref", String(512), primary_key=True),
    Column("context", String(64), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "kind", "ref"),
    sqlite_with_rowid=False,
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("description", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column("name", NAME, ForeignKey("registered_models.name"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", NAME, ForeignKey("registered_models.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("run_id", ID, nullable=True),
    Column("artifact_path", String(1024), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("format", String(32), nullable=False),
    Column("signature", Text, nullable=True),
    Column("git_commit", String(64), nullable=True),
    Column("description", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", NAME, ForeignKey("registered_models.name"), primary_key=True),
    Column("alias", NAME, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

alias_history = Table(
    "alias_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False),
    Column("alias", NAME, nullable=False),
    Column("version", Integer, nullable=True),
    Column("previous_version", Integer, nullable=True),
    Column("changed_ms", BigInteger, nullable=False),
    Column("user", String(255), nullable=False),
    Index(None, "name", "alias"),
)

# -- datasets (data validation, issue 3) -------------------------------------

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("num_rows", BigInteger, nullable=False),
    Column("num_columns", Integer, nullable=False),
    Column("profile_digest", String(64), nullable=False),
    Column("schema_digest", String(64), nullable=True),
    Column("run_id", ID, nullable=True),
    Column("source", String(1024), nullable=True),
    Column("description", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "name", "fingerprint", unique=True),
    Index(None, "run_id"),
)

dataset_version_tags = Table(
    "dataset_version_tags",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

# -- costs (expense monitoring, issue 5) -------------------------------------

run_resources = Table(
    "run_resources",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("complete", Integer, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("wall_s", Float, nullable=False),
    Column("billed_wall_s", Float, nullable=False),
    Column("cpu_user_s", Float, nullable=False),
    Column("cpu_system_s", Float, nullable=False),
    Column("rss_byte_s", Float, nullable=False),
    Column("rss_peak_bytes", BigInteger, nullable=False),
    Column("read_bytes", BigInteger, nullable=False),
    Column("write_bytes", BigInteger, nullable=False),
    Column("net_sent_bytes", BigInteger, nullable=False),
    Column("net_recv_bytes", BigInteger, nullable=False),
    Column("egress_bytes", BigInteger, nullable=False),
    Column("gpu_count", Integer, nullable=False),
    Column("gpu_model", String(128), nullable=True),
    Column("gpu_busy_s", Float, nullable=True),
    Column("gpu_memory_peak_bytes", BigInteger, nullable=True),
    Column("machine_cores", Float, nullable=False),
    Column("machine_memory_bytes", BigInteger, nullable=False),
    Column("cgroup_cores", Float, nullable=True),
    Column("cgroup_memory_bytes", BigInteger, nullable=True),
)

run_costs = Table(
    "run_costs",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("price_version", String(16), nullable=False),
    Column("allocation", String(16), nullable=False),
    Column("cpu_micros", BigInteger, nullable=False),
    Column("memory_micros", BigInteger, nullable=False),
    Column("gpu_micros", BigInteger, nullable=False),
    Column("storage_micros", BigInteger, nullable=False),
    Column("egress_micros", BigInteger, nullable=False),
    Column("total_micros", BigInteger, nullable=False),
    Column("idle_micros", BigInteger, nullable=False),
    Column("storage_bytes", BigInteger, nullable=False),
    Column("partial", Integer, nullable=False),
    Column("computed_ms", BigInteger, nullable=False),
)

budgets = Table(
    "budgets",
    metadata,
    Column("budget_id", ID, primary_key=True),
    Column("scope", String(16), nullable=False),
    Column("subject", NAME, nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("thresholds", String(64), nullable=False),
    Column("webhook_url", String(1024), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "scope", "subject", unique=True),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("source", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Index(None, "source", "kind", "subject"),
    Index(None, "created_ms"),
)

# -- pipelines (issue 4) -----------------------------------------------------

pipeline_steps = Table(
    "pipeline_steps",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("pipeline_run_id", ID, nullable=False),
    Column("pipeline", NAME, nullable=False),
    Column("node", String(512), nullable=False),
    Column("step", String(512), nullable=False),
    Column("cache_key", String(64), nullable=True),
    Column("cache", String(16), nullable=False),
    Column("source_run_id", ID, nullable=True),
    Column("reasons", Text, nullable=False),
    Column("components", Text, nullable=False),
    Column("seed", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "cache_key"),
    Index(None, "pipeline_run_id"),
    Index(None, "pipeline", "node"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("direction", String(8), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("materializer", String(64), nullable=False),
    Column("type_name", String(256), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "digest", "direction"),
    sqlite_with_rowid=False,
)

# -- schedules and triggers (issue 4, items 9-10) ----------------------------

schedules = Table(
    "schedules",
    metadata,
    Column("schedule_id", ID, primary_key=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("target", String(1024), nullable=False),
    Column("params", Text, nullable=False),
    Column("executor", String(64), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("spec", Text, nullable=False),
    Column("timezone", String(64), nullable=True),
    Column("catchup", String(16), nullable=False),
    Column("options", Text, nullable=False),
    Column("timeout_s", Float, nullable=True),
    Column("enabled", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("cursor_ms", BigInteger, nullable=True),
    Column("cursor_key", String(512), nullable=True),
    Column("skipped_total", BigInteger, nullable=False),
)

schedule_firings = Table(
    "schedule_firings",
    metadata,
    Column("firing_id", ID, primary_key=True),
    Column("schedule_id", ID, nullable=False),
    Column("schedule", NAME, nullable=False),
    Column("event_key", String(512), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("event", Text, nullable=False),
    Column("target", String(1024), nullable=False),
    Column("params", Text, nullable=False),
    Column("executor", String(64), nullable=True),
    Column("timeout_s", Float, nullable=True),
    Column("status", String(16), nullable=False),
    Column("skipped", BigInteger, nullable=False),
    Column("run_id", ID, nullable=True),
    Column("error", Text, nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("pid_started", Float, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("claimed_ms", BigInteger, nullable=True),
    Column("heartbeat_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Index(None, "schedule_id", "event_key", unique=True),
    Index(None, "status"),
    Index(None, "schedule", "created_ms"),
)

scheduler_leases = Table(
    "scheduler_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner_id", ID, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_started", Float, nullable=True),
    Column("started_ms", BigInteger, nullable=False),
    Column("heartbeat_ms", BigInteger, nullable=False),
)
