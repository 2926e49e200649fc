"""Counterexamples a reader can check by hand: shrunk, rounded, and re-evaluated as printed.

A search phase's counterexample is an input of whatever the search produced (gradient ascent leaves a dense 4×6
matrix of 17-digit floats). :func:`shrink` simplifies it greedily, keeping a change only while the property is
still violated beyond its tolerance:

1. a smaller structure: one of the property's structures whose input shapes fit inside the current ones (each
   tensor cut to its leading corner), smallest first;
2. zero entries, one at a time;
3. few digits: every entry rounded to 1, 2, … significant digits (the fewest that still violate), then each
   entry on its own to an integer.

The result carries ``digits``, the significant digits its entries need: printed with that many, every entry reads
back as the same float, so the input shown is the input evaluated, and ``violation`` is its violation there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from theorycheck.properties._base import Property

__all__ = ["MAX_DIGITS", "round_significant", "shrink"]

#: float64 needs at most 17 significant digits to round-trip
MAX_DIGITS = 17


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Every entry rounded to ``digits`` significant digits (as its ``.{digits}g`` text reads back)."""
    flat = [float(f"{float(v):.{digits}g}") for v in np.asarray(values, dtype=np.float64).ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(np.shape(values))


class _Shrinker:
    def __init__(self, prop: Property, budget: int) -> None:
        self.prop, self.left = prop, budget

    def violates(self, struct: dict[str, Any], raw: dict[str, np.ndarray]) -> float | None:
        """The violation at this input when it is beyond the tolerance (None otherwise, or when out of budget)."""
        if self.left <= 0:
            return None
        self.left -= 1
        tensors = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in raw.items()}
        with torch.no_grad():
            v = float(self.prop.violation(struct, tensors))
        return v if (v > self.prop.tolerance or v == math.inf) else None

    def smaller_structure(
        self, struct: dict[str, Any], raw: dict[str, np.ndarray]
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        current = {k: v.shape for k, v in raw.items()}
        candidates = []
        for other in self.prop.structures:
            shapes = self.prop.shapes(other)
            if other == struct or set(shapes) != set(current):
                continue
            if all(
                len(shapes[k]) == len(current[k]) and all(a <= b for a, b in zip(shapes[k], current[k], strict=True))
                for k in shapes
            ):
                candidates.append((sum(math.prod(s) for s in shapes.values()), other, shapes))
        for _, other, shapes in sorted(candidates, key=lambda c: c[0]):
            cut = {k: raw[k][tuple(slice(0, n) for n in shapes[k])].copy() for k in raw}
            if self.violates(other, cut) is not None:
                return other, cut
        return struct, raw

    def zero_entries(self, struct: dict[str, Any], raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k: v.copy() for k, v in raw.items()}
        for v in out.values():
            flat = v.reshape(-1)
            for i in range(flat.size):
                if flat[i] == 0:
                    continue
                kept, flat[i] = flat[i], 0.0
                if self.violates(struct, out) is None:
                    flat[i] = kept
        return out

    def fewest_digits(self, struct: dict[str, Any], raw: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
        for digits in (1, 2, 3, 4, 6, 8, 12):
            rounded = {k: round_significant(v, digits) for k, v in raw.items()}
            if self.violates(struct, rounded) is not None:
                return self.integers(struct, rounded), digits
        return raw, MAX_DIGITS

    def integers(self, struct: dict[str, Any], raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k: v.copy() for k, v in raw.items()}
        for v in out.values():
            flat = v.reshape(-1)
            for i in range(flat.size):
                if flat[i] == round(flat[i]):
                    continue
                kept, flat[i] = flat[i], float(round(flat[i]))
                if self.violates(struct, out) is None:
                    flat[i] = kept
        return out


def shrink(prop: Property, counterexample: dict[str, Any], *, budget: int = 300) -> dict[str, Any]:
    """A simpler counterexample (structure, inputs, violation, ``digits``), evaluated as it is printed; the input
    given when nothing simpler violates within ``budget`` evaluations (its digits then are all 17)."""
    struct = dict(counterexample["structure"])
    raw = {k: np.asarray(v, dtype=np.float64) for k, v in counterexample["inputs"].items()}
    work = _Shrinker(prop, budget)
    if work.violates(struct, raw) is None:  # cannot happen for a recorded counterexample (exact JSON floats)
        raise AssertionError(f"the counterexample of {prop.id} does not violate it when evaluated again")
    struct, raw = work.smaller_structure(struct, raw)
    raw = work.zero_entries(struct, raw)
    raw, digits = work.fewest_digits(struct, raw)
    final = _Shrinker(prop, 1).violates(struct, raw)  # the printed input, evaluated once more
    assert final is not None, "a shrink step kept an input that does not violate"
    return {
        "structure": struct,
        "violation": final,
        "inputs": {k: v.tolist() for k, v in raw.items()},
        "digits": digits,
        "shrunk": True,
    }
