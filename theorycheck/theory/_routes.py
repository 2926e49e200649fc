"""Where Lemma 9/10 fails: distinct paths with identical path-products.

Lemma 9 (and Lemma 10 for average-pooling) makes distinct path-products
uncorrelated because, going back from the output, two distinct paths part at
a node whose two incoming weights are distinct random weights. Two paths that
part and rejoin using only deterministic edges (pooling, the identity of an
``add``) have *equal* products, their cross term is not 0, and eq. 13 is not
the second moment. This module finds such places by counting, for every
segment of deterministic edges, the routes between the neurons it connects.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from theorycheck.graph import Activation, Add, Concat, Conv, Dense, Flatten, format_shape
from theorycheck.graph._text import format_layers
from theorycheck.theory._frames import Frame
from theorycheck.theory._maps import structural_map
from theorycheck.theory._propagate import CREATES_NEURONS

__all__ = ["shared_route_reasons"]

# state: source id -> route-count matrix (rows: current neurons, cols: source neurons);
# None stands for the identity (no deterministic edge since the source).
_State = dict[int, "sp.csr_array | None"]


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def _as_matrix(m: sp.csr_array | None, n: int) -> sp.csr_array:
    return sp.identity(n, dtype=np.int64, format="csr") if m is None else m


class _Walker:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.next_id = 1

    def flag(self, frame: Frame, what: str) -> None:
        where = format_layers((frame.node,))
        self.reasons.append(
            f"{where} on {format_shape(frame.in_shape)}: {what}, so distinct paths have identical "
            "path-products and Lemma 9/10 (uncorrelated path-products) does not apply"
        )

    def walk(self, frames: list[Frame], state: _State) -> _State:
        for fr in frames:
            node = fr.node
            if isinstance(node, (Dense, Conv)):
                state = {self.next_id: None}
                self.next_id += 1
            elif isinstance(node, CREATES_NEURONS):
                smap = structural_map(node, fr.in_shape, fr.out_shape)
                spatial = sp.csr_array(sp.kron(sp.csr_array(smap.s_h), sp.csr_array(smap.s_w)))
                pool = sp.csr_array(sp.kron(sp.identity(fr.in_shape[0], dtype=np.int64), spatial))
                state = {k: pool if m is None else sp.csr_array(pool @ m) for k, m in state.items()}
                if any(m is not None and m.nnz and m.max() > 1 for m in state.values()):
                    self.flag(fr, "overlapping pooling windows join neurons by several deterministic routes")
            elif isinstance(node, (Activation, Flatten)):
                continue
            elif isinstance(node, Add):
                outs = [self.walk(b, dict(state)) for b in fr.branches]
                n = _size(fr.out_shape)
                merged: _State = {}
                for out in outs:
                    for k, m in out.items():
                        merged[k] = _as_matrix(m, n) if k not in merged else merged[k] + _as_matrix(m, n)
                if any(m is not None and m.nnz and m.max() > 1 for m in merged.values()):
                    self.flag(fr, "two branches join the same neurons through deterministic edges only")
                state = merged
            elif isinstance(node, Concat):
                outs = [self.walk(b, dict(state)) for b in fr.branches]
                rows = [_size(b[-1].out_shape) if b else _size(fr.in_shape) for b in fr.branches]
                keys = {k for out in outs for k in out}
                stacked: _State = {}
                for k in keys:
                    blocks = []
                    for out, n_rows in zip(outs, rows, strict=True):
                        if k in out:
                            blocks.append(_as_matrix(out[k], n_rows))
                        else:
                            n_cols = next(
                                _as_matrix(o[k], r).shape[1] for o, r in zip(outs, rows, strict=True) if k in o
                            )
                            blocks.append(sp.csr_array((n_rows, n_cols), dtype=np.int64))
                    stacked[k] = sp.csr_array(sp.vstack(blocks))
                state = stacked
        return state


def shared_route_reasons(frames: list[Frame]) -> list[str]:
    """Reasons why eq. 13 is not the exact (H) second moment here (empty: it is)."""
    walker = _Walker()
    walker.walk(frames, {0: None})
    return walker.reasons
