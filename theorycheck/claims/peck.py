"""Claims of Peck, Roels, Goossens, Saeys (NeurIPS 2017, appendix), IDs ``pk.*``.

Registered with their statements; the checks come with the issue on
identities, inequalities, robustness bounds and attacks.
"""

from __future__ import annotations

from theorycheck.claims._base import PK, Claim

__all__ = ["CLAIMS"]

NOT_YET = "comes with the issue on identities, bounds and attacks"

CLAIMS: list[Claim] = [
    Claim(id_, PK, kind, statement, "", False, reason_not_implemented=NOT_YET)
    for id_, kind, statement in [
        ("pk.lemmaA1", "identity", "Linear classifier: some α ∈ (0, 1) (eq. 7) equalises the scores of c and c′."),
        (
            "pk.thmA3",
            "inequality",
            "Linear classifier: Δadv(x; f) ≥ min_{c′≠c} |(w_{c′}−w_c)·x + b_{c′}−b_c| / ‖w_{c′}−w_c‖.",
        ),
        ("pk.thmA4", "identity", "The bound of A.3 is tight; for f(x) = argmax_i x_i, Δadv = min_{c′≠c} |x_{c′}−x_c|."),
        (
            "pk.thmA5",
            "inequality",
            "MLP with |g′| ≤ A, |g″| ≤ B: Algorithm A.1's M and N bound every second and first "
            "partial derivative of every output.",
        ),
        (
            "pk.fc_bound",
            "attack",
            "The Taylor bound (√(‖J‖² + 2M√n‖q‖) − ‖J‖)/(M√n) never exceeds the smallest class-changing perturbation.",
        ),
        (
            "pk.conv_bound",
            "attack",
            "A conv layer's input perturbation R needs ‖R‖_F ≥ κ/‖W‖_F to move its output by κ.",
        ),
        ("pk.pool_bounds", "inequality", "Pooling layers need ‖R‖_F ≥ κ/t (max, average) or κ/(t q^{2/p}) (L_p)."),
        (
            "pk.lemmaB1",
            "inequality",
            "ReLU(a+b) ≤ ReLU(a)+ReLU(b); strided convolution is linear; ‖ReLU(X)‖_F ≤ ‖X‖_F.",
        ),
        ("pk.lemmaB2", "inequality", "a_i, b_i ≥ 0 ⇒ Σ a_i b_i ≤ (Σ a_i)(Σ b_i)."),
        ("pk.lemmaB3", "inequality", "‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F."),
        ("pk.lemmaB4", "inequality", "Max-pooling is subadditive: z(X+R) ≤ z(X) + z(R)."),
        ("pk.lemmaB5", "inequality", "L_p pooling is subadditive."),
        ("pk.lemmaB6", "identity", "Average pooling is additive."),
        ("pk.eq8", "identity", "sigm(x) = ½ tanh(x/2) + ½; |tanh′|, |tanh″| ≤ 1."),
        (
            "pk.chain",
            "attack",
            "The layer-by-layer lower bound for a whole network never exceeds the smallest "
            "adversarial perturbation found by strong minimal-norm attacks.",
        ),
    ]
]
