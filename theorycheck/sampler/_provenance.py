"""Provenance of a result (versions, device, seed, git revision) and the device choice."""

from __future__ import annotations

import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from theorycheck._version import __version__
from theorycheck.errors import TheorycheckError
from theorycheck.sampler._rng import RNG_BLOCK

__all__ = ["provenance", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` → CUDA if available, else CPU; a clear error if CUDA is asked for and absent."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TheorycheckError(
            f"device {name!r} requested but CUDA is not available (torch {torch.__version__}); "
            "use --device cpu, or install the CUDA build of torch (docs/gpu.md)"
        )
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise TheorycheckError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


def _git_revision() -> str | None:
    """``git rev-parse HEAD`` of the checkout, or ``$THEORYCHECK_GIT_REVISION`` (copies without ``.git``)."""
    import os

    if os.environ.get("THEORYCHECK_GIT_REVISION"):
        return os.environ["THEORYCHECK_GIT_REVISION"]
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        model = ""
    import os

    return f"cpu ({model or platform.processor() or 'unknown'}, {os.cpu_count()} cores)"


def provenance(device: torch.device, precision: str, seed: int, **extra: Any) -> dict[str, Any]:
    """Versions, device, precision, seed and git revision of a result."""
    import scipy

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()
    return {
        "theorycheck": __version__,
        "git_revision": _git_revision(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "device_name": name,
        "precision": precision,
        "seed": seed,
        "rng_block": RNG_BLOCK,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
