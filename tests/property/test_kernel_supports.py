"""The kernel level stores ``A_i`` and ``M_i`` only on the rows whose receptive field contains ``x_i``; on
generated conv nets this equals storing them on every position (the dense layout, which the module used before)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given, target
from hypothesis import strategies as st

from theorycheck.errors import ArchitectureError
from theorycheck.graph import Architecture
from theorycheck.theory._kernel import _kernel_predict

# The two layouts add the same terms in other orders: float64 round-off only.
RTOL = 1e-12


@st.composite
def _conv(draw: Any) -> str:
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 2))
    dil = draw(st.integers(1, 2))
    pad = draw(st.sampled_from(["zero", "circular", "reflect", "valid"]))
    return f"conv({draw(st.integers(1, 3))},{k},stride={s},dilation={dil},padding={pad})"


@st.composite
def kernel_nets(draw: Any) -> tuple[str, str]:
    """Conv nets the kernel level covers: conv/activation blocks, average pools, a pre-activation residual or a
    concat (every block ends in a weighted layer or a residual sum, so each activation has a centred input)."""
    side = draw(st.integers(3, 6))  # 5-6 give borders, strides and partial windows
    layers = [draw(_conv())]
    for _ in range(draw(st.integers(1, 3))):
        block = draw(st.sampled_from(["act conv", "act pool", "act residual", "act concat", "conv"]))
        act = draw(st.sampled_from(["relu", "relu", "tanh", "softplus"]))
        if block == "act conv":
            layers += [act, draw(_conv())]
        elif block == "act pool":
            layers += [act, f"avgpool({draw(st.integers(2, 3))},stride={draw(st.integers(1, 2))})", draw(_conv())]
        elif block == "act residual":  # pre-activation: the sum of two centred Gaussians (a covered merge)
            layers += [f"residual{{{act} conv(2,3,padding=circular) relu conv(2,3,padding=circular)}}"]
        elif block == "act concat":
            layers += [act, "concat{conv(2,3,padding=circular) relu | conv(1,1)}", draw(_conv())]
        else:
            layers.append(draw(_conv()))
    layers += [draw(st.sampled_from(["relu", "tanh"])), draw(st.sampled_from(["flatten", "globalavgpool"]))]
    heads = [["dense(2)"], ["dense(3)", "relu", "dense(2)"], ["dense(3)", "softplus", "dense(2)"]]
    layers += draw(st.sampled_from(heads))
    arch, shape = " ".join(layers), f"{draw(st.integers(1, 2))}x{side}x{side}"
    try:
        shapes = Architecture.parse(arch).shapes(shape)
    except ArchitectureError:
        assume(False)
    # the full layout, the slow reference, grows with the square of the widest feature map: one 9 px net with
    # 6 channels took 37 s on 2 cores (2026-12-02); 64 entries keep every net under a second
    assume(max(int(np.prod(out)) for _, _, out in shapes) <= 64)
    return arch, shape


@given(kernel_nets(), st.integers(0, 2**32 - 1))
def test_support_rows_equal_full_storage(case: tuple[str, str], seed: int) -> None:
    arch, shape = case
    d = int(np.prod([int(v) for v in shape.split("x")]))
    x = np.random.default_rng(seed).standard_normal(d)
    sparse = _kernel_predict(arch, shape, x, full_support=False)
    full = _kernel_predict(arch, shape, x, full_support=True)
    assert sparse.covered and full.covered, sparse.reason
    assert sparse.coord_var_map is not None and full.coord_var_map is not None
    scale = float(np.abs(full.coord_var_map).max())
    # steer toward maps that vary across inputs: borders, strides, pooling, i.e. partial supports
    target(float(np.ptp(full.coord_var_map) / scale) if scale > 0 else 0.0, label="relative spread of the map")
    np.testing.assert_allclose(sparse.coord_var_map, full.coord_var_map, rtol=0, atol=RTOL * scale)
