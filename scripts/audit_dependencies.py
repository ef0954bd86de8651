"""Known vulnerabilities in the locked dependencies: pip-audit over requirements.lock.

Usage: python scripts/audit_dependencies.py requirements.lock

Exit 1 when pip-audit reports a vulnerability (each is printed: package, version, advisory,
fixed versions). Exit 0 with a note when it reports none, and also when pip-audit is not
installed or cannot reach its advisory data (no network): an audit that cannot run is said,
not failed, so that an offline CI still tests the code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(lock: Path) -> int:
    auditor = shutil.which("pip-audit") or str(Path(sys.executable).with_name("pip-audit"))
    if not Path(auditor).exists():
        print("dependency audit skipped: pip-audit is not installed")
        return 0
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "audit.json"
        # The lock pins every version with hashes: audit it as written, without resolving.
        done = subprocess.run(
            [auditor, "--requirement", str(lock), "--require-hashes", "--disable-pip",
             "--progress-spinner", "off", "--format", "json", "--output", str(report)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if not report.exists() or not report.read_text().strip():
            reason = (done.stderr or done.stdout).strip().splitlines()
            print("dependency audit skipped: pip-audit could not read its advisory data")
            print("  " + (reason[-1] if reason else f"exit code {done.returncode}"))
            return 0
        found = json.loads(report.read_text())
    dependencies = found.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    unreached = len(dependencies) - len(audited)
    if not audited:
        print(
            f"dependency audit skipped: none of the {len(dependencies)} locked packages could "
            "be looked up in the advisory data (no access to PyPI's JSON API?)"
        )
        return 0
    vulnerable = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
    gap = f" ({unreached} could not be looked up)" if unreached else ""
    if not vulnerable:
        print(
            f"dependency audit: {len(audited)} locked packages audited{gap}, no known vulnerability"
        )
        return 0
    print(
        f"dependency audit: {len(vulnerable)} known vulnerabilities in {len(audited)} locked packages{gap}"
    )
    for name, version, vuln in vulnerable:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
        print(f"  {name} {version}: {vuln['id']} (fixed in {fixed})")
    return 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")))
