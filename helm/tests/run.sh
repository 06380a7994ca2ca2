#!/usr/bin/env bash
# Render tests of the vizier Helm chart: helm lint --strict, rendering with several value
# sets, kubernetes-validate --strict against Kubernetes 1.30 schemas, and field assertions.
#
# Needs python3 (>= 3.10) with venv. The first run creates a virtualenv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/vizier-helm-venv and installs helm/tests/requirements.txt
# from the package index; later runs reuse it (offline) until requirements.txt changes.
# Extra arguments go to pytest, e.g. helm/tests/run.sh -k hpa -x
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${VIZIER_HELM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/vizier-helm-venv}"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "run.sh: $python is missing or older than 3.10" >&2
    exit 2
fi

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "run.sh: preparing $venv" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
        --requirement "$requirements"
    echo "$want" > "$stamp"
fi

cd "$here"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
# -p no:cacheprovider: no .pytest_cache in the source tree.
exec "$venv/bin/python" -m pytest -p no:cacheprovider -ra "$@" test_chart.py
