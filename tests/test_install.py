"""What set-up installs: torch's CPU build on a machine without an NVIDIA GPU, never PyPI's CUDA build."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "install_torch.sh"


def test_dry_run_report_here_has_no_cuda_packages(tmp_path: Path) -> None:
    """The set-up's own options, asked for a report instead of an install (pip --dry-run --report)."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        ["bash", str(SCRIPT), sys.executable, "--dry-run", "--ignore-installed", "--report", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    installs = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert installs["torch"].startswith("2.13.0")
    assert installs["torch"].endswith("+cpu")
    assert [name for name in installs if name.startswith(("nvidia", "triton", "cuda"))] == []


def fake_python(tmp_path: Path, has_local_wheel: bool) -> Path:
    """A stand-in interpreter that records the pip command the script chooses."""
    script = tmp_path / "python"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$3" = download ]; then exit {0 if has_local_wheel else 1}; fi\n'
        'echo "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def choice(tmp_path: Path, has_local_wheel: bool, nvidia: bool) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if nvidia:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run(
        ["bash", str(SCRIPT), str(fake_python(tmp_path, has_local_wheel))],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


def test_without_nvidia_gpu_the_cpu_index_is_used(tmp_path: Path) -> None:
    command = choice(tmp_path, has_local_wheel=False, nvidia=False)
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in command


def test_with_nvidia_gpu_pypi_default_is_used(tmp_path: Path) -> None:
    command = choice(tmp_path, has_local_wheel=False, nvidia=True)
    assert command.endswith("install --quiet torch==2.13.0")


def test_a_wheel_on_disk_is_used_as_is(tmp_path: Path) -> None:
    command = choice(tmp_path, has_local_wheel=True, nvidia=False)
    assert command.endswith("install --quiet torch==2.13.0")
