"""What set-up installs: torch's CPU build on a machine without an NVIDIA GPU, never PyPI's CUDA build."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "install_torch.sh"


@pytest.mark.slow  # pip resolves the whole set-up against the indexes
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


class CountingIndex:
    """A local stand-in for the CPU index that counts connections; it answers 200 or hangs up."""

    def __init__(self, answers: bool) -> None:
        self.connections = 0
        self.answers = answers
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/whl/cpu"
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed by __exit__
                return
            with connection:
                self.connections += 1
                if self.answers:
                    connection.recv(65536)
                    connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                # else: hang up at once, as a dead proxy or firewall does

    def __enter__(self) -> CountingIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # close() alone does not wake the thread blocked in accept() (join waited 5 s): shutdown() does.
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self.thread.join(5)


def refused_url() -> str:
    """An index address on a local port that was just freed, so the connection is refused at once."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    return f"http://127.0.0.1:{port}/whl/cpu"


def fake_python(tmp_path: Path, has_local_wheel: bool) -> Path:
    """A stand-in interpreter that records the pip command the script chooses.

    ``python -c`` (the script's probe of the CPU index) runs in the real interpreter.
    """
    script = tmp_path / "python"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1" = -c ]; then exec {sys.executable} "$@"; fi\n'
        f'if [ "$3" = download ]; then exit {0 if has_local_wheel else 1}; fi\n'
        'echo "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def run_script(
    tmp_path: Path,
    has_local_wheel: bool,
    nvidia: bool,
    index: str | None = None,
    system: str | None = None,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if nvidia:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    if system is not None:
        (bin_dir / "uname").write_text(f"#!/bin/sh\necho {system}\n")
        (bin_dir / "uname").chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ATTNVIZ_TORCH")},
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "ATTNVIZ_TORCH_INDEX": index or refused_url(),
        **variables,
    }
    return subprocess.run(
        ["bash", str(SCRIPT), str(fake_python(tmp_path, has_local_wheel))],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def choice(tmp_path: Path, has_local_wheel: bool, nvidia: bool, **options: str) -> str:
    done = run_script(tmp_path, has_local_wheel, nvidia, **options)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_nvidia_gpu_a_reachable_cpu_index_is_used(tmp_path: Path) -> None:
    with CountingIndex(answers=True) as index:
        command = choice(tmp_path, has_local_wheel=False, nvidia=False, index=index.url)
    assert command.endswith(
        f"install --quiet torch==2.13.0 --index-url {index.url} --extra-index-url https://pypi.org/simple"
    )
    assert index.connections == 1  # the probe; the fake pip never connects


def test_the_default_index_is_pytorchs_cpu_index() -> None:
    assert "ATTNVIZ_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" in SCRIPT.read_text()


def test_an_unreachable_cpu_index_is_tried_once_and_said_in_spanish(tmp_path: Path) -> None:
    with CountingIndex(answers=False) as index:
        done = run_script(tmp_path, has_local_wheel=False, nvidia=False, index=index.url, system="Linux")
    assert index.connections == 1  # pip on its own retried a dead index ~145 times
    assert done.returncode == 1
    assert done.stdout == ""  # no pip install at all, above all not PyPI's CUDA build
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"No se puede conectar con el índice de PyTorch para CPU ({index.url})")
    assert "no se instala nada" in line
    assert "ATTNVIZ_TORCH_CUDA=1 bash tools/install_torch.sh " in line


def test_a_refused_connection_gives_the_same_line(tmp_path: Path) -> None:
    index = refused_url()
    done = run_script(tmp_path, False, False, index=index + "/", system="Linux")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"No se puede conectar con el índice de PyTorch para CPU ({index}) y PyPI")


def test_pypis_cuda_build_only_when_asked_for(tmp_path: Path) -> None:
    done = run_script(tmp_path, False, False, system="Linux", ATTNVIZ_TORCH_CUDA="1")
    assert done.returncode == 0
    assert done.stdout.strip().endswith("install --quiet torch==2.13.0")
    (line,) = done.stderr.splitlines()
    assert "se instala torch==2.13.0 de PyPI con CUDA (varios GB) porque lo pediste" in line


def test_off_linux_pypi_is_the_cpu_build_and_is_used_after_saying_so(tmp_path: Path) -> None:
    done = run_script(tmp_path, False, False, system="Darwin")
    assert done.returncode == 0
    assert done.stdout.strip().endswith("install --quiet torch==2.13.0")
    (line,) = done.stderr.splitlines()
    assert line.endswith("se instala torch==2.13.0 de PyPI, que en este sistema ya es la versión para CPU.")


def test_with_nvidia_gpu_pypi_default_is_used(tmp_path: Path) -> None:
    command = choice(tmp_path, has_local_wheel=False, nvidia=True)
    assert command.endswith("install --quiet torch==2.13.0")


def test_a_wheel_on_disk_is_used_as_is(tmp_path: Path) -> None:
    command = choice(tmp_path, has_local_wheel=True, nvidia=False)
    assert command.endswith("install --quiet torch==2.13.0")


def test_the_wheel_on_disk_can_be_skipped(tmp_path: Path) -> None:
    done = run_script(tmp_path, True, False, system="Linux", ATTNVIZ_TORCH_NO_LOCAL="1")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("No se puede conectar con el índice de PyTorch para CPU")
