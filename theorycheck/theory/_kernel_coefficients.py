"""Activation maps of the NNGP kernel recursion and their derivatives.

For a centred Gaussian pair ``(u, v)`` with covariance ``[[a, c], [c, b]]`` and
``F(a, b, c) = E[φ(u)φ(v)]``, the kernel recursion needs ``F`` and the partial
derivatives ``F_a, F_c, F_ab, F_bc, F_ac, F_cc`` at every pair of positions
``(p, q)``, with ``a = K(p,p)``, ``b = K(q,q)``, ``c = K(p,q)``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["Coefficients", "QuadratureTooLarge", "quadrature_nodes", "relu_coefficients", "smooth_coefficients"]

_TWO_PI = 2 * math.pi

#: ``(F, F_a, F_c, F_ab, F_bc, F_ac, F_cc)`` over position pairs
Coefficients = tuple[torch.Tensor, ...]

#: quadrature error target (relative to the integrand's scale) of the smooth activations' coefficients
QUADRATURE_TOLERANCE = 1e-15
#: |z| beyond which the standard Gaussian weight (< 1e-16 of its peak) is dropped
_Z_MAX = 8.6
#: distance of the nearest complex singularity of φ from the real axis, in units of the pre-activation:
#: tanh has poles at ±iπ/2; sigmoid(x) = (1 + tanh(x/2))/2 at ±iπ; softplus has branch points at ±iπ
SINGULARITY_DISTANCE = {"tanh": math.pi / 2, "sigmoid": math.pi, "softplus": math.pi}
#: largest number of integrand evaluations (position pairs × quadrature points) one smooth layer may take
SMOOTH_MAX_EVALUATIONS = 2**34


class QuadratureTooLarge(Exception):
    """The smooth activation's quadrature would take more than ``SMOOTH_MAX_EVALUATIONS`` evaluations."""


def relu_coefficients(k: torch.Tensor) -> Coefficients:
    """The arc-cosine map ``F = √(ab)/(2π) · J(ρ)``, ``J(ρ) = √(1−ρ²) + (π − arccos ρ) ρ`` (Cho & Saul 2009),
    and its derivatives. Where ``ρ = 1`` (the diagonal) the terms with ``J″(ρ) = 1/√(1−ρ²)`` are dropped: there
    they multiply ``ρ̇ ρ′ = 0`` (``ρ`` is maximal at ``x′ = x``), which leaves ``M′ = ½ M``, (H)'s ½."""
    diag = torch.diagonal(k)
    aa, bb = diag[:, None], diag[None, :]
    root = torch.sqrt(aa * bb).clamp_min(1e-300)
    rho = (k / root).clamp(-1.0, 1.0)
    on = (1.0 - rho) < 1e-12  # perfectly correlated pairs (the diagonal): the singular limit
    sq = torch.sqrt((1.0 - rho**2).clamp_min(0.0))
    theta = torch.arccos(rho)
    j = sq + (math.pi - theta) * rho
    k_post = root * j / _TWO_PI
    f_c = (math.pi - theta) / _TWO_PI
    f_a = root * sq / (2 * _TWO_PI * aa)
    inv_sq = torch.where(on, torch.zeros_like(sq), 1.0 / sq.clamp_min(1e-300))  # J''(ρ), dropped where ρ = 1
    f_cc = inv_sq / (_TWO_PI * root)
    f_ac = -inv_sq * rho / (2 * _TWO_PI * aa)
    f_bc = -inv_sq * rho / (2 * _TWO_PI * bb)
    f_ab = torch.where(on, torch.zeros_like(sq), (sq / (4 * root) + root * rho**2 * inv_sq / (4 * aa * bb)) / _TWO_PI)
    return k_post, f_a, f_c, f_ab, f_bc, f_ac, f_cc


def _derivatives(fn: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """φ, φ′, φ″, φ‴ of a smooth activation."""
    if fn == "tanh":
        t = torch.tanh(x)
        d1 = 1 - t**2
        return t, d1, -2 * t * d1, -2 * d1 * (1 - 3 * t**2)
    sig = torch.sigmoid(x)
    s1 = sig * (1 - sig)
    s2 = s1 * (1 - 2 * sig)
    s3 = s1 * (1 - 6 * sig + 6 * sig**2)
    if fn == "sigmoid":
        return sig, s1, s2, s3
    return torch.nn.functional.softplus(x), sig, s1, s2  # softplus


#: float64 elements of one block of quadrature values (rows of K are processed in blocks)
_QUADRATURE_BLOCK = 2**23


def quadrature_nodes(fn: str, max_variance: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Trapezoid nodes and weights for ``E[g(z)]``, z standard normal, with g analytic in a strip.

    For an integrand analytic within ``|Im z| < δ`` the trapezoid rule with step h has error
    ``O(exp(−2πδ/h))`` (Trefethen & Weideman 2014, SIAM Review 56(3), Thm 5.1). ``u = √a z`` puts φ's nearest
    singularity at ``δ = SINGULARITY_DISTANCE / √a``; ``h = 2πδ / ln(1/tol)`` reaches the tolerance.
    (A fixed 40-node Gauss-Hermite rule, used before, was off by up to 4% on ``F_ab`` for tanh at He init.)
    """
    delta = SINGULARITY_DISTANCE[fn] / math.sqrt(max(max_variance, 1e-12))
    log_tol = math.log(1 / QUADRATURE_TOLERANCE)
    # the Gaussian factor alone has trapezoid error exp(−2π²/h²): it bounds h when φ is nearly linear over the
    # Gaussian's width (small variance, e.g. zero for an orphan position)
    h = min(2 * math.pi * delta / log_tol, math.pi * math.sqrt(2 / log_tol))
    half = math.ceil(_Z_MAX / h)
    z = h * torch.arange(-half, half + 1, dtype=torch.float64)
    return z, h * torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def smooth_coefficients(k: torch.Tensor, fn: str) -> Coefficients:
    """A smooth activation by 2-D quadrature (``quadrature_nodes``); derivatives by Price's theorem.

    ``F_c = E[φ′φ′]``, ``F_a = ½E[φ″(u)φ(v)]``, ``F_cc = E[φ″φ″]``, ``F_ac = ½E[φ‴(u)φ′(v)]``,
    ``F_ab = ¼E[φ″φ″]``. All are regular at ``ρ = 1`` for smooth φ, so no limit is needed.
    """
    p = k.shape[0]
    diag = torch.diagonal(k)
    z, w = quadrature_nodes(fn, float(diag.max()))
    points = len(z) ** 2
    if p * p * points > SMOOTH_MAX_EVALUATIONS:
        raise QuadratureTooLarge(
            f"{fn} at kernel level needs {p}² position pairs × {points} quadrature points "
            f"= {p * p * points:.3g} evaluations (at most {SMOOTH_MAX_EVALUATIONS:.3g}); use fewer positions"
        )
    step = max(1, _QUADRATURE_BLOCK // (p * points))
    blocks = [_smooth_block(k, diag, lo, min(p, lo + step), fn, z, w) for lo in range(0, p, step)]
    return tuple(torch.cat([b[i] for b in blocks]) for i in range(7))


def _smooth_block(
    k: torch.Tensor, diag: torch.Tensor, lo: int, hi: int, fn: str, z: torch.Tensor, w: torch.Tensor
) -> Coefficients:
    """Rows ``lo:hi`` of the coefficients."""
    w2 = (w[:, None] * w[None, :]).reshape(-1)
    z1 = z[:, None].expand(-1, len(z)).reshape(-1)
    z2 = z[None, :].expand(len(z), -1).reshape(-1)
    a, b, c = diag[lo:hi, None, None], diag[None, :, None], k[lo:hi, :, None]
    sa = torch.sqrt(a.clamp_min(0.0))
    u = sa * z1
    slope = c / sa.clamp_min(1e-300)
    v = slope * z1 + torch.sqrt((b - slope**2).clamp_min(0.0)) * z2
    pu, pu1, pu2, pu3 = _derivatives(fn, u)
    pv, pv1, pv2, pv3 = _derivatives(fn, v)

    def expect(t: torch.Tensor) -> torch.Tensor:
        return (t * w2).sum(dim=-1)

    f_cc = expect(pu2 * pv2)
    return (
        expect(pu * pv),
        0.5 * expect(pu2 * pv),
        expect(pu1 * pv1),
        0.25 * f_cc,
        0.5 * expect(pu1 * pv3),
        0.5 * expect(pu3 * pv1),
        f_cc,
    )
