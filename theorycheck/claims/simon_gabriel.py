"""Claims of Simon-Gabriel, Ollivier, Schölkopf, Bottou, Lopez-Paz (ICML 2019), IDs ``sg.*``, in catalogue order.

Defaults are CPU scale (``studies/quick.toml``); studies override them. Every Monte Carlo claim has a negative
control: a mutant run through the same evaluation against the *claim's* prediction, which must come out refuted.

Where the claims live:

* :mod:`~theorycheck.claims.sg_families`: the scaling theorems on their families (Section 3.1, Theorem 3,
  Theorem 4, Corollary 5, Theorem 6's resolution statement), written in the public claim forms;
* :mod:`~theorycheck.claims.sg_core`: eq. 8's constant and eq. 9's variance (per-network ratios and an exact
  graph constant), and Theorem 6's strided-vs-pooled ratios (the control reuses the strided arm);
* :mod:`~theorycheck.claims.sg_paths`: path-products (Lemmas 9, 10) and the path sum (tiny nets, float64);
* :mod:`~theorycheck.claims.sg_graphs`: Lemma 7, Lemma 8, the symmetry assumption (S), decided exactly;
* :mod:`~theorycheck.claims.sg_experiments`: the experiments of Section 4 (empirical, max-pooling).
"""

from __future__ import annotations

from theorycheck.claims import sg_core, sg_experiments, sg_families, sg_graphs, sg_paths
from theorycheck.claims._base import SG, Claim

__all__ = ["CLAIMS"]

_ORDER = (
    "sg.sec3_1",
    "sg.eq8",
    "sg.thm3",
    "sg.eq9_var",
    "sg.thm4_l2",
    "sg.thm4_coord",
    "sg.cor5",
    "sg.thm6",
    "sg.thm6_proof",
    "sg.lemma9",
    "sg.lemma10",
    "sg.lemma7",
    "sg.lemma8",
    "sg.symmetry",
    "sg.thm6_res",
    "sg.fig1",
    "sg.fig3",
    "sg.pathsum",
)
_BY_ID = {c.id: c for m in (sg_core, sg_experiments, sg_families, sg_graphs, sg_paths) for c in m.CLAIMS}
CLAIMS: list[Claim] = [_BY_ID[cid] for cid in _ORDER]

NOT_YET = "comes with the issue on identities, bounds and attacks"
for _id, _kind, _statement in [
    ("sg.lemma1", "attack", "At first order in ε, the worst ε-sized ℓp attack raises the loss by ε‖∂ₓL‖_q."),
    ("sg.prop2", "scaling", "Adversarially augmented loss equals the penalised loss L + (ε/2)‖∂ₓL‖_q up to O(ε²)."),
    ("sg.eq5", "identity", "ε_p = ε_∞ d^{1/p}; eq. 17: ε_p = ε‖x‖₂ d^{1/p−1/2} keeps the SNR fixed."),
    ("sg.eq9", "identity", "Cross-entropy: ∂ₓL = (1−q_c)∂ₓf_c − Σ_{k≠c} q_k ∂ₓf_k = Σ_k q_k(∂ₓf_c − ∂ₓf_k)."),
    ("sg.eq16", "identity", "For p = q = 2: ‖∂ₓL‖₂² = Σ_{k,h} q_k q_h (∂ₓf_c − ∂ₓf_k)·(∂ₓf_c − ∂ₓf_h)."),
]:
    CLAIMS.append(Claim(_id, SG, _kind, _statement, "", False, reason_not_implemented=NOT_YET))
