"""What a benchmark ran on: CPU, memory, disk, versions, the checkout's state."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["describe_machine", "load_average"]

PACKAGES = ("numpy", "pyarrow", "numba", "segyio", "matplotlib")


def _meminfo_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mount_of(path: Path) -> dict[str, str]:
    """Device and file system type of the mount holding ``path`` (Linux)."""
    best = {"device": "unknown", "fstype": "unknown", "mount": "/"}
    try:
        resolved = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, fstype = line.split()[:3]
            inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best["mount"]):
                best = {"device": device, "fstype": fstype, "mount": mount}
    except OSError:
        pass
    return best


def _git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def load_average() -> tuple[float, float, float] | None:
    """The 1/5/15-minute load averages, where the platform has them."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def describe_machine(workdir: Path, repo: Path) -> dict[str, Any]:
    """A JSON-able description of this machine and checkout."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    usage = os.statvfs(workdir)
    dirty = _git(repo, "status", "--porcelain", "--", "segycore", "native", "setup.py")
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_bytes": _meminfo_total(),
        "disk": {
            **_mount_of(workdir),
            "workdir": str(workdir),
            "size_bytes": usage.f_blocks * usage.f_frsize,
            "free_bytes": usage.f_bavail * usage.f_frsize,
        },
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "versions": versions,
        "git_commit": _git(repo, "rev-parse", "--short", "HEAD"),
        "git_dirty": dirty.splitlines(),
        "load_average_start": load_average(),
    }
