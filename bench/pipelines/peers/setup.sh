#!/usr/bin/env bash
# Create one virtual environment per pipeline peer, outside ninefold's own venv:
#   ${NINEFOLD_BENCH_PIPELINE_PEERS:-/work/bench-peers-pipelines}/{zenml,kedro,metaflow,prefect}/
# Each gets the tool plus numpy and scikit-learn (the versions of ninefold's venv), and is
# byte-compiled, so that no measured import parses sources. Run it again to redo one venv:
#   bash bench/pipelines/peers/setup.sh kedro
# The peers are then picked up by `python -m bench --only pipelines` and
# `python -m bench.pipelines --peers`.
set -euo pipefail

ROOT="${NINEFOLD_BENCH_PIPELINE_PEERS:-/work/bench-peers-pipelines}"
PYTHON="${PYTHON:-python3.11}"
NUMPY="${NUMPY_SPEC:-numpy==2.4.6}"
SKLEARN="${SKLEARN_SPEC:-scikit-learn==1.9.1}"

# tool -> what pip installs (the versions the peer research measured; override with *_SPEC)
declare -A SPEC=(
  [zenml]="${ZENML_SPEC:-zenml[local]==0.98.0}"
  [kedro]="${KEDRO_SPEC:-kedro==1.7.0}"
  [metaflow]="${METAFLOW_SPEC:-metaflow==2.19.39}"
  [prefect]="${PREFECT_SPEC:-prefect==3.9.1}"
)

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
  tools=(kedro metaflow prefect zenml)
fi

mkdir -p "$ROOT"
for tool in "${tools[@]}"; do
  spec="${SPEC[$tool]:-}"
  if [ -z "$spec" ]; then
    echo "setup.sh: unknown tool '$tool'; choose from: ${!SPEC[*]}" >&2
    exit 2
  fi
  venv="$ROOT/$tool"
  echo "== $tool: $spec -> $venv" >&2
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  # (the grep drops the warnings about local package mirrors that do not exist on every machine)
  "$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | { grep -v "is ignored: it is neither" || true; }
  "$venv/bin/python" -m pip install --quiet "$spec" "$NUMPY" "$SKLEARN" 2>&1 \
    | { grep -v "is ignored: it is neither" || true; }
  "$venv/bin/python" -c "import numpy, sklearn"  # a broken install stops here
  # pip compiles what it installs; compile again for anything it skipped.
  "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null || true
  "$venv/bin/python" -m pip freeze > "$venv/freeze.txt"
  echo "== $tool: $(grep -i "^$tool==" "$venv/freeze.txt"), $(du -sm "$venv" | cut -f1) MiB" >&2
done
echo "peers ready under $ROOT" >&2
