"""The landing fuzz test run long: file bytes -> parse -> Arrow -> bronze/quarantine types, millions of lines.

    python bench/bench_fuzz_landing.py [EXAMPLES]      # default: 2000 files of 700 lines (~1.4M lines)

The suite runs the same property (``tests/ingest/test_fuzz_landing.py``) over 180 files (~126,000 lines) in
about 10 s; this runs it over EXAMPLES files in a child pytest (hypothesis-generated events, seeds and damage:
truncations, NUL, BOM, CR/CRLF, huge integers, out-of-range timestamps, lone surrogates, random bytes,
non-objects, overlong lines). Every line must come out as exactly one row, valid or quarantined with a known
reason, its own bytes, in order; nothing may raise. The table reports lines, files, seconds and failures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import emit

REPO = Path(__file__).resolve().parents[1]
TEST = "tests/ingest/test_fuzz_landing.py::test_fuzz_file_bytes_to_bronze_rows_over_100k_lines"


def main() -> None:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    env = {**os.environ, "FLYWHEEL_FUZZ_EXAMPLES": str(examples)}
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", TEST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=7200,
    )
    seconds = time.perf_counter() - t0
    found = re.search(r"fuzz: (\d+) lines in (\d+) files", out.stdout)
    lines, files = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    failed = out.returncode != 0
    if failed:
        print(out.stdout[-4000:], out.stderr[-2000:], sep="\n")
    emit(
        "fuzz_landing",
        [
            {
                "files": files,
                "lines": lines,
                "seconds": round(seconds, 1),
                "lines_per_s": round(lines / seconds) if seconds else 0,
                "failures": int(failed),
            }
        ],
        {"examples": examples, "lines_per_file": 700, "command": f"python bench/bench_fuzz_landing.py {examples}"},
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
