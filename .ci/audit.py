"""`make audit`: pip-audit over the locked dependencies (uv.lock), with PyPI's advisory data
(OSV's when PyPI's cannot be had).

Fails (exit 1) when a locked dependency has a known vulnerability. When the advisory data
cannot be reached (no network, or an index mirror without PyPI's per-release JSON, where
pip-audit skips every dependency as "not found"), it says so plainly and exits 0: an
outage of the data must not fail CI, but a clean run must never be claimed without it.

    python .ci/audit.py UV            # export uv.lock, audit it, judge the report
    python .ci/audit.py --report FILE # judge an existing `pip-audit -f json` report
"""

# ruff: noqa: T201, S603  (a command-line script: it prints, and runs uv and pip-audit)

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("pypi", "osv")
# How requests' errors read when the advisory service cannot be reached at all.
NETWORK_ERRORS = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "NameResolution",
                  "Max retries exceeded", "Temporary failure in name resolution")  # fmt: skip


def judge(report: dict[str, Any]) -> int:
    """The exit status for a pip-audit JSON report, after printing what it found."""
    dependencies: list[dict[str, Any]] = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    audited = [d for d in dependencies if "skip_reason" not in d]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} "
                  f"(fixed in {fixed})")  # fmt: skip
    if vulnerable:
        print(f"audit: {len(vulnerable)} locked dependencies have known vulnerabilities; "
              "upgrade them with `uv lock --upgrade-package NAME` (see CONTRIBUTING.md)")  # fmt: skip
        return 1
    if dependencies and not audited:
        print(f"audit: NOT AUDITED: the advisory data was unreachable for all "
              f"{len(dependencies)} locked dependencies (PyPI's per-release JSON API); "
              "no vulnerability found, none ruled out")  # fmt: skip
        return 0
    skipped = len(dependencies) - len(audited)
    print(f"audit: no known vulnerability in {len(audited)} locked dependencies"
          + (f" ({skipped} could not be audited)" if skipped else ""))  # fmt: skip
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--report":
        return judge(json.loads(Path(argv[1]).read_text()))
    if len(argv) != 1:
        print(__doc__)
        return 2
    uv = argv[0]
    with tempfile.TemporaryDirectory() as folder:
        requirements, report = Path(folder) / "requirements.txt", Path(folder) / "report.json"
        subprocess.run(
            [uv, "export", "--frozen", "--no-hashes", "--no-emit-project",
             "--format", "requirements-txt", "--output-file", str(requirements)],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        # PyPI's advisory data first (the JSON API); OSV's when PyPI's gave nothing.
        for service in SERVICES:
            report.unlink(missing_ok=True)
            audit = subprocess.run(
                [str(Path(sys.executable).parent / "pip-audit"), "--requirement",
                 str(requirements), "--disable-pip", "--no-deps", "--vulnerability-service",
                 service, "--progress-spinner", "off", "--format", "json", "--output",
                 str(report)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if not report.exists() or not report.read_text().strip():
                if not any(sign in audit.stderr for sign in NETWORK_ERRORS):
                    print(audit.stderr.strip(), file=sys.stderr)
                    print(f"audit: pip-audit failed ({service})")
                    return audit.returncode or 1
                print(f"audit: {service}: advisory data unreachable (network error)")
                continue
            result = json.loads(report.read_text())
            audited = [d for d in result.get("dependencies", []) if "skip_reason" not in d]
            if audited:
                print(f"audit: advisory data from {service}")
                return judge(result)
            print(f"audit: {service}: no dependency could be audited")
        print("audit: NOT AUDITED: no advisory data could be reached (PyPI's per-release JSON "
              "API, OSV); no vulnerability found, none ruled out; not failing CI for that")  # fmt: skip
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
