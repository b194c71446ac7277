"""Offline check of the Kubernetes manifests: YAML parses and matches the SparkApplication schema.

.venv/bin/python infra/k8s/check_manifests.py [FILE ...]     (exit 1 with one line per problem)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "sparkapplication.schema.json"


def problems(path: Path) -> list[str]:
    """Every schema violation of the SparkApplication documents in ``path``, as 'file: where: what'."""
    import jsonschema
    import yaml

    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    out: list[str] = []
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    if not docs:
        return [f"{path.name}: no YAML document"]
    for doc in docs:
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            out.append(f"{path.name}: {where}: {err.message}")
    return out


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or sorted(HERE.glob("*.yaml"))
    found = [p for f in files for p in problems(f)]
    for line in found:
        print(line, file=sys.stderr)
    print(f"{len(files)} manifest(s), {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
