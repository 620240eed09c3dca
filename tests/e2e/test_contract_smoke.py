"""The clients' contract: shared/contract/smoke.py walks every workflow's happy path."""

import subprocess
import sys

import pytest

from tests.e2e.stack import ROOT, STAFF

SMOKE = ROOT.parent / "shared" / "contract" / "smoke.py"


@pytest.mark.skipif(not SMOKE.exists(), reason="shared/contract/smoke.py is not beside this checkout")
def test_the_contract_smoke_is_green(stack):
    stack.start("web", "worker", "beat")
    result = subprocess.run(
        [sys.executable, str(SMOKE), "--base", stack.base, "--staff", f"{STAFF[0]}:{STAFF[1]}"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the happy path follows the contract" in result.stdout
    assert stack.manage("zea", "verify").returncode == 0
