"""Per-network rows: the statistics of each input gradient, the logits, the loss terms, and user reducers."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from theorycheck.errors import TheorycheckError

__all__ = ["Reducer", "reduce_rows"]

#: a user statistic: ``(grad (B, *input_shape), logits (B, K), x (B, *input_shape)) -> (B,)``, all float64
Reducer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def reduce_rows(
    names: list[tuple[str, str, int]],
    grads: torch.Tensor,
    logits: torch.Tensor,
    classes: torch.Tensor | None,
    x: torch.Tensor,
    keep: slice,
    *,
    q: float | None = None,
    maps: bool = False,
    reducers: Mapping[str, Reducer] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Rows of the networks ``keep`` (computed over the whole batch) and their map sums.

    ``grads`` is ``(B, T, d)`` for the T gradients ``names``; rows are ``"<gradient>.<statistic>"`` with
    ``sq_norm = ‖g‖₂²``, ``coord_var = ‖g‖₂²/d``, ``l1``, ``linf``, ``lq`` (when ``q``) and one per reducer;
    ``f<k>`` are the logits; with classes, ``class``, ``q_c``, ``loss_value`` and
    ``eq9_factor = (1−q_c)² + Σ_{k≠c} q_k²``.
    """
    rows: dict[str, torch.Tensor] = {}
    out_maps: dict[str, torch.Tensor] = {}
    b, _, d = grads.shape
    f64 = logits.to(torch.float64)
    x64 = x.detach().to(torch.float64).reshape(b, *x.shape[1:])
    for t, (name, _, _) in enumerate(names):
        g = grads[:, t, :].to(torch.float64)
        sq = g * g
        rows[f"{name}.sq_norm"] = sq.sum(dim=1)
        rows[f"{name}.coord_var"] = rows[f"{name}.sq_norm"] / d
        rows[f"{name}.l1"] = g.abs().sum(dim=1)
        rows[f"{name}.linf"] = g.abs().amax(dim=1)
        if q is not None:
            rows[f"{name}.lq"] = (g.abs() ** q).sum(dim=1) ** (1.0 / q)
        for stat, fn in (reducers or {}).items():
            rows[f"{name}.{stat}"] = user_rows(stat, fn, g.reshape(x64.shape), f64, x64)
        if maps:
            out_maps[name] = sq[keep].sum(dim=0)
    for k in range(f64.shape[1]):
        rows[f"f{k}"] = f64[:, k]
    if classes is not None:
        prob = torch.softmax(f64, dim=1)
        idx = torch.arange(prob.shape[0], device=prob.device)
        q_c = prob[idx, classes]
        rows["class"] = classes.to(torch.float64)
        rows["q_c"] = q_c
        rows["loss_value"] = -torch.log_softmax(f64, dim=1)[idx, classes]
        rows["eq9_factor"] = (1 - q_c) ** 2 + (prob**2).sum(dim=1) - q_c**2
    return {k: v[keep] for k, v in rows.items()}, out_maps


def user_rows(stat: str, fn: Reducer, g: torch.Tensor, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A user statistic's values, checked: one finite float per network."""
    try:
        with torch.no_grad():
            out = fn(g, logits, x)
    except Exception as exc:
        raise TheorycheckError(
            f"statistic {stat!r} failed on a batch of {g.shape[0]} networks: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (g.shape[0],):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise TheorycheckError(
            f"statistic {stat!r} must return one value per network, a tensor of shape ({g.shape[0]},); got {shape}"
        )
    return out.to(torch.float64)
