"""``benchmarks/gpu_check.sh`` (run only on a lent GPU machine) stays correct and read-only: it
parses (bash -n, shellcheck), its Python blocks compile, and it contains no command that
changes a GPU's power limit, clocks, persistence mode or MIG mode (issue 13: "GPU checks are
read-only"). It also still covers the three checks the issue names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from integrations.requires import program

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.sh"
#: nvidia-smi's setters (short and long spellings), NVML's, and wattwise's own control paths.
FORBIDDEN = [
    r"nvidia-smi[^\n]*\s(-pl|--power-limit|-lgc|--lock-gpu-clocks|-lmc|--lock-memory-clocks"
    r"|-rgc|--reset-gpu-clocks|-rmc|-ac|--applications-clocks|-rac|-pm|--persistence-mode"
    r"|-mig|--multi-instance-gpu|-r\b|--gpu-reset)",
    r"nvmlDeviceSet", r"nvmlDeviceReset", r"set_power_limit", r"lock_sm_clock",
    r"power\.tuned\(", r"tune=True", r"wattwise tune(?![^\n]*--dry-run)",
]  # fmt: skip


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"<<'EOF'[^\n]*\n(.*?)\nEOF", text, re.S)


def test_the_script_parses_and_its_python_compiles() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)
    subprocess.run([program("shellcheck", "shellcheck"), str(SCRIPT)], check=True, timeout=60)
    blocks = _python_blocks(SCRIPT.read_text())
    assert len(blocks) >= 4
    for i, block in enumerate(blocks):
        compile(block, f"gpu_check.sh block {i}", "exec")


def test_the_script_changes_no_gpu_setting_and_covers_the_issue_checks() -> None:
    text = SCRIPT.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for pattern in FORBIDDEN:
        assert re.search(pattern, code) is None, pattern
    assert "nvmlDeviceGetTotalEnergyConsumption" in code and "nvmlDeviceGetPowerUsage" in code
    assert "power.draw" in code and "bfloat16" in code and "30.0" in code
    assert "classify(" in code and "copy_(" in code
    assert "-m wattwise tune --dry-run" in code and "report_count(steps=1)" in code
