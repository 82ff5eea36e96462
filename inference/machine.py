"""The machine figures were measured on: CPU, cores, matrix-unit flags and library versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

from inference.artifact import library_versions

CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni")


def machine() -> dict:
    """The machine the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(), **library_versions()}


def cpu_flags() -> frozenset[str] | None:
    """Every flag this CPU reports in /proc/cpuinfo, or None where they cannot be read (not Linux)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((frozenset(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), None)


def machine_info() -> dict:
    """CPU, cores, the matrix-unit flags that decide bf16/int8 speed, and library versions."""
    info = machine()
    flags = cpu_flags() or frozenset()
    info["cpu_flags"] = [f for f in CPU_FLAGS if f in flags]
    for package in ("onnxruntime", "onnx", "tokenizers", "numpy"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    return info
