"""Datasets for trained networks: built in (no download at run time), or the user's own.

A :class:`Dataset` is four tensors, ``x_train (N, *shape)``, ``y_train (N,)``, ``x_test (M, *shape)``,
``y_test (M,)``, with labels in ``0 … classes-1``. Every dataset is standardised with the training set's mean and
standard deviation (one scalar each), so a network's input scale is the same whatever the source.

Built in (``data = "NAME:R"``, R the resolution):

* ``digits:R``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes; Alpaydin & Kaynak 1998),
  resized to R×R by bilinear interpolation, one channel, a fixed 80/20 split. Upsampling only repeats the 8×8
  detail: the input dimension grows, the information does not.
* ``gratings:R``: a procedural task rendered at any resolution, whose detail grows with it: class k of 10 is a
  sinusoidal grating at orientation kπ/10, with a random phase and a random spatial frequency between 1 and R/4
  cycles per image, plus Gaussian pixel noise (σ = 0.5). Higher resolutions carry higher frequencies, as a
  photograph taken at a higher resolution does (the paper's resolution sweep down-sizes real photographs).

The user's own: ``data = "pkg.mod:factory"`` (called with no arguments, it returns ``(x_train, y_train, x_test,
y_test)`` as tensors or arrays), or ``data = "path/to/file.npz"``
with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``. Each is validated with one clear error: shapes,
dtypes, finite values, integer labels in range, at least two classes and enough examples.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from theorycheck.errors import TheorycheckError

__all__ = ["BUILTIN", "Dataset", "load_dataset"]

#: the built-in datasets, by name
BUILTIN = ("digits", "gratings")
#: the largest resolution a built-in dataset is rendered at (memory: 1,797 × R² floats)
MAX_RESOLUTION = 256
#: the fewest examples a split may have
MIN_EXAMPLES = 10


@dataclass(frozen=True)
class Dataset:
    """A classification task: ``x_train (N, *shape)``, ``y_train (N,)`` (int64), ``x_test``, ``y_test``."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one input."""
        return tuple(self.x_train.shape[1:])


def load_dataset(spec: str, *, where: str = "data") -> Dataset:
    """The dataset ``spec`` names (see the module docstring), validated and standardised."""
    if not isinstance(spec, str) or not spec.strip():
        raise TheorycheckError(
            f"{where}: must name a dataset ('digits:16', 'gratings:32', 'pkg.mod:factory' or a .npz)"
        )
    m = re.fullmatch(r"([a-z_]+):([0-9]{1,5})", spec.strip())
    if m and m.group(1) in BUILTIN:
        resolution = int(m.group(2))
        if not 4 <= resolution <= MAX_RESOLUTION:
            raise TheorycheckError(f"{where}: resolution {resolution} is outside 4 to {MAX_RESOLUTION}")
        raw = _digits(resolution) if m.group(1) == "digits" else _gratings(resolution)
        return _validated(spec, raw, where)
    if spec.endswith(".npz"):
        return _validated(spec, _npz(Path(spec), where), where)
    if ":" in spec and not m:
        from theorycheck._imports import call_factory

        return _validated(spec, call_factory(spec, what=where), where)
    known = ", ".join(f"{b}:R" for b in BUILTIN)
    raise TheorycheckError(f"{where}: unknown dataset {spec!r}; use {known}, 'pkg.mod:factory' or a file.npz")


def _digits(resolution: int) -> tuple[torch.Tensor, ...]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    digits = load_digits()
    x = torch.as_tensor(digits.images, dtype=torch.float64).unsqueeze(1)  # (1797, 1, 8, 8)
    if resolution != 8:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    y = torch.as_tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))  # a fixed split
    x, y = x[order], y[order]
    cut = int(0.8 * len(y))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _gratings(resolution: int, *, train: int = 2000, test: int = 500) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(resolution)  # the same images for a resolution, whatever else runs
    n = train + test
    labels = torch.randint(0, 10, (n,), generator=gen)
    theta = labels.to(torch.float64) * math.pi / 10
    freq = 1 + torch.rand(n, generator=gen, dtype=torch.float64) * (resolution / 4 - 1)
    phase = torch.rand(n, generator=gen, dtype=torch.float64) * 2 * math.pi
    grid = (torch.arange(resolution, dtype=torch.float64) + 0.5) / resolution
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    along = xx[None] * torch.cos(theta)[:, None, None] + yy[None] * torch.sin(theta)[:, None, None]
    images = torch.sin(2 * math.pi * freq[:, None, None] * along + phase[:, None, None])
    images = images + 0.5 * torch.randn(images.shape, generator=gen, dtype=torch.float64)
    x = images.unsqueeze(1)
    return x[:train], labels[:train], x[train:], labels[train:]


def _npz(path: Path, where: str) -> tuple[Any, ...]:
    if not path.is_file():
        raise TheorycheckError(f"{where}: no file {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if missing:
                raise TheorycheckError(f"{where}: {path} lacks {', '.join(missing)} (it has {', '.join(f.files)})")
            return tuple(f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except TheorycheckError:
        raise
    except Exception as exc:
        raise TheorycheckError(f"{where}: {path} is not a readable .npz: {type(exc).__name__}: {exc}") from None


def _validated(name: str, raw: Any, where: str) -> Dataset:
    """Tensors of the right shapes, finite inputs, integer labels from 0; standardised by the training set."""
    if not isinstance(raw, tuple | list) or len(raw) != 4:
        raise TheorycheckError(f"{where}: expected (x_train, y_train, x_test, y_test), got {type(raw).__name__}")
    tensors = []
    for label, value in zip(("x_train", "y_train", "x_test", "y_test"), raw, strict=True):
        try:
            tensors.append(torch.as_tensor(np.asarray(value)))
        except Exception as exc:
            raise TheorycheckError(f"{where}: {label} is not an array: {type(exc).__name__}: {exc}") from None
    x_train, y_train, x_test, y_test = tensors
    for xs, ys, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if xs.ndim not in (2, 4):
            raise TheorycheckError(
                f"{where}: x_{split} has shape {tuple(xs.shape)}; expected (N, D) vectors or (N, C, H, W) images"
            )
        if not (xs.is_floating_point() or xs.dtype in (torch.uint8, torch.int16, torch.int32, torch.int64)):
            raise TheorycheckError(f"{where}: x_{split} has dtype {xs.dtype}; expected numbers")
        if ys.ndim != 1 or len(ys) != len(xs):
            raise TheorycheckError(
                f"{where}: y_{split} has shape {tuple(ys.shape)}; expected ({len(xs)},), one label per example"
            )
        if ys.is_floating_point() and not torch.equal(ys, ys.round()):
            raise TheorycheckError(f"{where}: y_{split} holds non-integer labels; expected class indices 0, 1, …")
        if len(xs) < MIN_EXAMPLES:
            raise TheorycheckError(f"{where}: x_{split} has {len(xs)} examples; at least {MIN_EXAMPLES} are needed")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise TheorycheckError(
            f"{where}: x_train's examples have shape {tuple(x_train.shape[1:])}, x_test's {tuple(x_test.shape[1:])}"
        )
    x_train, x_test = x_train.to(torch.float64), x_test.to(torch.float64)
    if not (torch.isfinite(x_train).all() and torch.isfinite(x_test).all()):
        raise TheorycheckError(f"{where}: the inputs hold NaN or infinite values")
    y_train, y_test = y_train.to(torch.int64), y_test.to(torch.int64)
    low = int(min(y_train.min(), y_test.min()))
    classes = int(max(y_train.max(), y_test.max())) + 1
    if low < 0:
        raise TheorycheckError(f"{where}: labels must be 0 or more, got {low}")
    if len(torch.unique(y_train)) < 2:
        raise TheorycheckError(f"{where}: y_train has a single class; a classifier needs at least two")
    mean, std = x_train.mean(), x_train.std()
    if not std > 0:
        raise TheorycheckError(f"{where}: x_train is constant; nothing to learn")
    return Dataset(name, (x_train - mean) / std, y_train, (x_test - mean) / std, y_test, classes)
