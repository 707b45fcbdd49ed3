"""Upstream and downstream lineage from an artifact, a run, a model version or a dataset version.

The graph has four kinds of nodes, named by a prefix:

* ``artifact:<sha256>``: a content-addressed value;
* ``run:<run_id>``: a step execution (or any run with recorded inputs);
* ``model:<name>/<version>``: a registered model version;
* ``dataset:<name>@<version>``: a dataset version.

Edges point the way data flows: artifact -> run that read it -> artifact it
wrote -> model version registered from it. ``upstream`` walks against that
direction (what made this?), ``downstream`` along it (what was made from this?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ninefold.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from ninefold.tracking.client import Client

_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_RUN = re.compile(r"^(?:run:)?([0-9a-f]{32})$")


@dataclass
class LineageGraph:
    """What lies upstream or downstream of one starting point.

    Attributes:
        root: the node the walk started from.
        direction: ``upstream`` or ``downstream``.
        nodes: node id -> facts (``kind``, ``label`` and kind-specific fields).
        edges: ``(source, target, label)`` in the direction data flows.
    """

    root: str
    direction: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[str]:
        """Node ids of one kind (``artifact``, ``run``, ``model``, ``dataset``), sorted."""
        return sorted(n for n, facts in self.nodes.items() if facts["kind"] == kind)

    @property
    def runs(self) -> list[str]:
        """Run ids in the graph."""
        return [n.split(":", 1)[1] for n in self.of_kind("run")]

    @property
    def artifacts(self) -> list[str]:
        """Artifact digests in the graph."""
        return [n.split(":", 1)[1] for n in self.of_kind("artifact")]

    @property
    def models(self) -> list[str]:
        """Model versions in the graph, as ``name/version``."""
        return [n.split(":", 1)[1] for n in self.of_kind("model")]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "root": self.root,
            "direction": self.direction,
            "nodes": self.nodes,
            "edges": [{"source": s, "target": t, "label": label} for s, t, label in self.edges],
        }

    def to_text(self) -> str:
        """The graph as an indented tree from the root."""
        upstream = self.direction == "upstream"
        children: dict[str, list[tuple[str, str]]] = {}
        for source, target, label in self.edges:
            parent, child = (target, source) if upstream else (source, target)
            children.setdefault(parent, []).append((child, label))
        arrow = "<-" if upstream else "->"
        lines = [self.nodes.get(self.root, {}).get("label", self.root)]
        seen = {self.root}

        def walk(node: str, depth: int) -> None:
            for child, label in sorted(children.get(node, []), key=lambda p: p[0]):
                text = self.nodes.get(child, {}).get("label", child)
                again = " (see above)" if child in seen else ""
                lines.append(f"{'  ' * depth}{arrow} [{label}] {text}{again}")
                if child not in seen:
                    seen.add(child)
                    walk(child, depth + 1)

        walk(self.root, 1)
        return "\n".join(lines)


class _Walk:
    def __init__(self, client: Client, direction: str, max_depth: int) -> None:
        self.client = client
        self.repo = client.store.pipelines
        self.graph = LineageGraph("", direction)
        self.max_depth = max_depth
        self.edge_set: set[tuple[str, str, str]] = set()

    def node(self, node_id: str, kind: str, **facts: Any) -> str:
        current = self.graph.nodes.setdefault(node_id, {"kind": kind})
        current.update({k: v for k, v in facts.items() if v is not None})
        return node_id

    def edge(self, source: str, target: str, label: str) -> None:
        key = (source, target, label)
        if key not in self.edge_set:
            self.edge_set.add(key)
            self.graph.edges.append(key)

    def artifact(self, digest: str, **facts: Any) -> str:
        return self.node(f"artifact:{digest}", "artifact", digest=digest, **facts)

    def model(self, name: str, version: int) -> str:
        return self.node(f"model:{name}/{version}", "model", name=name, version=version)

    # -- start ---------------------------------------------------------------

    def start(self, ref: str) -> tuple[set[str], set[str]]:
        """The root node, and the first artifacts and runs to walk from."""
        from ninefold.uris import DatasetURI, parse_uri

        if not isinstance(ref, str):
            raise InvalidArgument(f"A lineage reference is a string, got {type(ref).__name__}.")
        if m := _DIGEST.match(ref):
            digest = m[1]
            self.graph.root = self.artifact(digest)
            return {digest}, set()
        if m := _RUN.match(ref):
            run_id = m[1]
            self.client.store.runs.get(run_id)
            root = self.graph.root = self.node(f"run:{run_id}", "run", run_id=run_id)
            steps = [s.run_id for s in self.repo.steps_of(run_id)]
            for step_run in steps:
                child = self.node(f"run:{step_run}", "run", run_id=step_run)
                if self.graph.direction == "upstream":
                    self.edge(child, root, "step of")
                else:
                    self.edge(root, child, "step")
            return set(), {run_id, *steps}
        if ref.startswith("models:"):
            from ninefold.registry.api import get_model_version

            mv = get_model_version(ref, client=self.client)
            root = self.graph.root = self.model(mv.name, mv.version)
            self.graph.nodes[root]["digest"] = mv.digest
            if self.graph.direction == "upstream":
                art = self.artifact(mv.digest)
                self.edge(art, root, "stored as")
                runs: set[str] = set()
                if mv.run_id:
                    self.edge(
                        self.node(f"run:{mv.run_id}", "run", run_id=mv.run_id), root, "registered"
                    )
                    runs.add(mv.run_id)
                return {mv.digest}, runs
            consumers = set(self.client.store.runs.consumers("model", f"{mv.name}/{mv.version}"))
            for run_id in consumers:
                self.edge(root, self.node(f"run:{run_id}", "run", run_id=run_id), "loaded by")
            return set(), consumers
        if ref.startswith("datasets:"):
            uri = parse_uri(ref)
            assert isinstance(uri, DatasetURI)
            version: int | None = None
            if uri.version is not None:
                if not uri.version.isdigit():
                    raise InvalidArgument(f"{ref!r}: the dataset version must be a number.")
                version = int(uri.version)
            found = self.repo.dataset_version(uri.name, version)
            if found is None:
                from ninefold.errors import DatasetNotFound

                raise DatasetNotFound(f"No dataset version {ref!r}.")
            number, run_id = found
            label = f"{uri.name}@{number}"
            root = self.graph.root = self.node(
                f"dataset:{label}", "dataset", name=uri.name, version=number
            )
            if self.graph.direction == "upstream":
                if run_id:
                    self.edge(self.node(f"run:{run_id}", "run", run_id=run_id), root, "created")
                    return set(), {run_id}
                return set(), set()
            consumers = set()
            for form in (label, f"datasets:/{label}"):
                consumers.update(self.client.store.runs.consumers("dataset", form))
            for cid in consumers:
                self.edge(root, self.node(f"run:{cid}", "run", run_id=cid), "read by")
            return set(), consumers
        raise InvalidArgument(
            f"{ref!r} is not a lineage reference. Use an artifact digest (sha256:<64 hex>), "
            "a run id, models:/<name>/<version>, models:/<name>@<alias> or "
            "datasets:/<name>@<version>."
        )

    # -- walks -----------------------------------------------------------------

    def upstream(self, digests: set[str], run_ids: set[str]) -> None:
        seen_d: set[str] = set()
        seen_r: set[str] = set()
        for _ in range(self.max_depth):
            digests -= seen_d
            run_ids -= seen_r
            if not digests and not run_ids:
                return
            seen_d |= digests
            seen_r |= run_ids
            new_runs: set[str] = set()
            for e in self.repo.edges_for(sorted(digests), "output", skip_hits=True):
                art = self.artifact(
                    e.digest, size=e.size, materializer=e.materializer, type=e.type_name
                )
                self.edge(self.node(f"run:{e.run_id}", "run", run_id=e.run_id), art, e.name)
                new_runs.add(e.run_id)
            new_digests: set[str] = set()
            for e in self.repo.edges_of(sorted(run_ids), "input"):
                art = self.artifact(
                    e.digest, size=e.size, materializer=e.materializer, type=e.type_name
                )
                self.edge(art, f"run:{e.run_id}", e.name)
                new_digests.add(e.digest)
            for run_id in sorted(run_ids):
                for item in self.client.store.runs.inputs(run_id):
                    if item.kind == "model":
                        name, _, version = item.ref.partition("/")
                        if version.isdigit():
                            node = self.model(name, int(version))
                            self.edge(node, f"run:{run_id}", item.context or "loaded")
                            try:
                                mv = self.client.store.models.get_version(name, int(version))
                            except NotFound:
                                continue
                            self.edge(self.artifact(mv.digest), node, "stored as")
                            new_digests.add(mv.digest)
                            if mv.run_id:
                                self.edge(f"run:{mv.run_id}", node, "registered")
                                self.node(f"run:{mv.run_id}", "run", run_id=mv.run_id)
                                new_runs.add(mv.run_id)
                    else:
                        node = self.node(f"{item.kind}:{item.ref}", item.kind, ref=item.ref)
                        self.edge(node, f"run:{run_id}", item.context or "read")
            digests, run_ids = new_digests, new_runs

    def downstream(self, digests: set[str], run_ids: set[str]) -> None:
        seen_d: set[str] = set()
        seen_r: set[str] = set()
        for _ in range(self.max_depth):
            digests -= seen_d
            run_ids -= seen_r
            if not digests and not run_ids:
                return
            seen_d |= digests
            seen_r |= run_ids
            new_runs: set[str] = set()
            for e in self.repo.edges_for(sorted(digests), "input"):
                art = self.artifact(
                    e.digest, size=e.size, materializer=e.materializer, type=e.type_name
                )
                self.edge(art, self.node(f"run:{e.run_id}", "run", run_id=e.run_id), e.name)
                new_runs.add(e.run_id)
            for name, version, _run, digest in self.repo.models_with_digests(sorted(digests)):
                node = self.model(name, version)
                self.edge(self.artifact(digest), node, "stored as")
                for cid in self.client.store.runs.consumers("model", f"{name}/{version}"):
                    self.edge(node, self.node(f"run:{cid}", "run", run_id=cid), "loaded by")
                    new_runs.add(cid)
            new_digests: set[str] = set()
            for e in self.repo.edges_of(sorted(run_ids), "output"):
                art = self.artifact(
                    e.digest, size=e.size, materializer=e.materializer, type=e.type_name
                )
                self.edge(f"run:{e.run_id}", art, e.name)
                new_digests.add(e.digest)
            for run_id in sorted(run_ids):
                for mv in self.client.store.models.versions_of_run(run_id):
                    node = self.model(mv.name, mv.version)
                    self.edge(f"run:{run_id}", node, "registered")
                    for cid in self.client.store.runs.consumers("model", f"{mv.name}/{mv.version}"):
                        self.edge(node, self.node(f"run:{cid}", "run", run_id=cid), "loaded by")
                        new_runs.add(cid)
            digests, run_ids = new_digests, new_runs

    def finish(self) -> LineageGraph:
        """Fill in run names, steps and statuses, and labels."""
        run_ids = [n.split(":", 1)[1] for n, f in self.graph.nodes.items() if f["kind"] == "run"]
        found = self.client.store.runs.get_many(run_ids)
        for run_id in run_ids:
            facts = self.graph.nodes[f"run:{run_id}"]
            run = found.get(run_id)
            if run is None:
                facts["label"] = f"run {run_id} (deleted)"
                continue
            facts.update(name=run.name, status=str(run.status), parent_run_id=run.parent_run_id)
            step = run.tags.get("ninefold.pipeline.step")
            if step:
                facts["step"] = step
            facts["label"] = f"run {run.name} ({run_id[:12]}, {run.status})"
        for node_id, facts in self.graph.nodes.items():
            if facts["kind"] == "artifact":
                kind = facts.get("type") or facts.get("materializer") or "blob"
                facts["label"] = f"artifact {facts['digest'][:12]} ({kind})"
            elif facts["kind"] == "model":
                facts["label"] = f"model {facts['name']}/{facts['version']}"
            elif facts["kind"] == "dataset" and "name" in facts:
                facts["label"] = f"dataset {facts['name']}@{facts['version']}"
            else:
                facts.setdefault("label", node_id)
        return self.graph


def upstream(ref: str, *, client: Client | None = None, max_depth: int = 100) -> LineageGraph:
    """Everything that went into ``ref``: the runs, artifacts, models and datasets behind it.

    Args:
        ref: an artifact digest (``sha256:...`` or 64 hex digits), a run id,
            ``models:/name/3``, ``models:/name@alias`` or ``datasets:/name@3``.
        client: the tracking client (default: the current project's).
        max_depth: how many run hops to follow at most.

    Example:
        >>> nf.pipelines.upstream("models:/churn@champion").runs  # doctest: +SKIP
    """
    from ninefold.tracking.client import get_client

    walk = _Walk(client or get_client(), "upstream", max_depth)
    digests, runs = walk.start(ref)
    walk.upstream(digests, runs)
    return walk.finish()


def downstream(ref: str, *, client: Client | None = None, max_depth: int = 100) -> LineageGraph:
    """Everything made from ``ref``: the runs that read it and what they produced, transitively.

    Args:
        ref: as for :func:`upstream`.
        client: the tracking client (default: the current project's).
        max_depth: how many run hops to follow at most.
    """
    from ninefold.tracking.client import get_client

    walk = _Walk(client or get_client(), "downstream", max_depth)
    digests, runs = walk.start(ref)
    walk.downstream(digests, runs)
    return walk.finish()
