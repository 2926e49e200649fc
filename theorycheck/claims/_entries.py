"""The catalogue's table: each claim's ID, source, kind, statement and formula (typst math), in CLAIMS.md's order.

Data only, with no import beyond the standard library, so ``theorycheck claims`` lists the catalogue in a fraction
of a second; :mod:`.catalogue` pairs each entry with the builder that makes its claim.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTRIES", "PK", "SG", "TC", "Entry", "Paper"]

Paper = str
SG = "Simon-Gabriel et al. (2019), Adversarial vulnerability of neural networks increases with input dimension"
PK = "Peck et al. (2017), Lower bounds on the robustness to adversarial perturbations, appendix"
TC = "theorycheck (beyond the papers: infinite-width kernel, Lee et al. 2018; Novak et al. 2019)"


@dataclass(frozen=True)
class Entry:
    """One claim of the catalogue: its ID, source, kind, statement and formula (typst math), in
    ``theorycheck.claims.catalogue.ENTRIES``; its builder makes the :class:`Claim` from it
    (:func:`theorycheck.claims._base.make_claim`)."""

    id: str
    source: str
    kind: str
    statement: str
    formula: str


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "sg.lemma1",
        SG,
        "attack",
        "At first order in ε, the worst ε-sized ℓp attack raises the loss by ε‖∂ₓL‖_q (Lemma 1): for p = ∞ (δ = ε sign g) and p = 2 (δ = ε g/‖g‖₂) the ratio of the actual loss increase to ε‖g‖_q tends to 1, and its error shrinks like ε.",
        "cal(L)(x + epsilon delta) - cal(L)(x) = epsilon norm(nabla_x cal(L))_q + O(epsilon^2)",
    ),
    Entry(
        "sg.prop2",
        SG,
        "scaling",
        "The adversarially augmented loss ½(L(x) + L(x+εδ)) equals the penalised loss L + (ε/2)‖∂ₓL‖_q up to O(ε²) (Proposition 2): the gap has slope 2 against ε on a log-log scale.",
        "1/2 (cal(L)(x) + cal(L)(x + epsilon delta)) = cal(L)(x) + epsilon/2 norm(nabla_x cal(L))_q + O(epsilon^2)",
    ),
    Entry(
        "sg.eq5",
        SG,
        "identity",
        "ε_p = ε_∞ d^{1/p}; eq. 17: ε_p = ε‖x‖₂ d^{1/p−1/2} keeps the SNR ‖x‖₂/‖δ‖₂ fixed across p and d (eq. 5, eq. 17).",
        "epsilon_p = epsilon_oo d^(1\\/p), quad epsilon_p = epsilon norm(x)_2 d^(1\\/p - 1\\/2)",
    ),
    Entry(
        "sg.sec3_1",
        SG,
        "scaling",
        "One linear output neuron on d inputs with weight variance 1/d: the coordinates of ∂ₓo have size ∝ 1/√d and ε∞‖∂ₓo‖₁ ∝ √d (Section 3.1).",
        "EE abs((partial o)/(partial x_i)) prop d^(-1\\/2), quad epsilon_oo EE norm(nabla_x o)_1 prop d^(1\\/2)",
    ),
    Entry(
        "sg.pathsum",
        SG,
        "identity",
        "For a ReLU net, ∂ₓo equals the sum over all paths from x to o of the path-product ω_p times the path's activity σ_p (proof of Theorem 3, after Balduzzi et al.).",
        "partial_x o = sum_(p in cal(P)(x,o)) omega_p sigma_p",
    ),
    Entry(
        "sg.lemma9",
        SG,
        "mc",
        "Under (H), path-products have mean 0, distinct path-products are uncorrelated, and E[ω_p²] = Π E[w²] (Lemma 9).",
        'EE[omega_p] = 0, quad EE[omega_p omega_(p prime)] = 0 " for " p != p prime, quad EE[omega_p^2] = product_(p in tilde(p)) EE[w_p^2]',
    ),
    Entry(
        "sg.lemma7",
        SG,
        "graph",
        "On any DAG, Σ_x Σ_{p∈P(x,o)} Π_{p∈p̃} 1/d_p = 1, with d_p the in-degree (Lemma 7).",
        "sum_x sum_(p in cal(P)(x,o)) product_(p in tilde(p)) 1\\/d_p = 1",
    ),
    Entry(
        "sg.symmetry",
        SG,
        "graph",
        "Section 3.2: (S) holds exactly for fully connected nets; almost for CNNs, up to boundary effects that periodic or mirror padding alleviates; and exactly for strided layers if the layer size is a multiple of the stride.",
        'cal(D)(x,o) = cal(D)(x prime,o) " for all inputs " x, x prime',
    ),
    Entry(
        "sg.lemma8",
        SG,
        "graph",
        "Under the symmetry assumption (S), each input's own sum equals 1/d (Lemma 8).",
        'sum_(p in cal(P)(x,o)) product_(p in tilde(p)) 1\\/d_p = 1\\/d " for every input " x',
    ),
    Entry(
        "sg.eq8",
        SG,
        "mc",
        "Fully connected ReLU nets under (H): E[(∂ₓf_k)²] = C/d; the paper's constant is 1, the exact constant for a given init follows from the graph (eq. 8).",
        'd dot EE[(partial f_k \\/ partial x_i)^2] = C_"graph"',
    ),
    Entry(
        "sg.thm3",
        SG,
        "scaling",
        "Fully connected ReLU nets: coordinates of ∂ₓf_k scale as 1/√d, ‖∂ₓL‖_q ∝ d^{1/q−1/2}, and ε_p‖∂ₓL‖_q ∝ √d (Theorem 3, eq. 7), for q ∈ {1, 2, ∞}.",
        "EE abs(partial f_k \\/ partial x_i) prop d^(-1\\/2), quad norm(nabla_x cal(L))_q prop d^(1\\/q - 1\\/2), quad epsilon_p norm(nabla_x cal(L))_q prop d^(1\\/2)",
    ),
    Entry(
        "sg.eq9",
        SG,
        "identity",
        "Cross-entropy: ∂ₓL = (1−q_c)∂ₓf_c − Σ_{k≠c} q_k ∂ₓf_k = Σ_k q_k(∂ₓf_c − ∂ₓf_k) (eq. 9 and eq. 10; both are −∂ₓL for L = −log q_c, the sign the paper's proof uses).",
        "(1-q_c) partial_x f_c - sum_(k != c) q_k partial_x f_k = sum_k q_k (partial_x f_c - partial_x f_k)",
    ),
    Entry(
        "sg.eq9_var",
        SG,
        "mc",
        "The variance of the coordinates of ∂ₓL is ((1−q_c)² + Σ_{k≠c} q_k²)/d times the logit constant (Theorem 3, step 2).",
        "EE[(partial cal(L) \\/ partial x_i)^2] = C dot EE[(1-q_c)^2 + sum_(k != c) q_k^2] \\/ d",
    ),
    Entry(
        "sg.thm4_l2",
        SG,
        "scaling",
        "Any feedforward ReLU net under (H): E‖∂ₓf_k‖₂² is independent of d, and equals 1 in the paper's normalisation; (S) is not needed (Theorem 4).",
        'EE norm(nabla_x f_k)_2^2 = 1 " for every " d',
    ),
    Entry(
        "sg.thm4_coord",
        SG,
        "scaling",
        "Under (S), the coordinates of ∂ₓf_k scale as 1/√d and eq. 7 holds for any such net (Theorem 4).",
        'EE abs(partial f_k \\/ partial x_i) prop d^(-1\\/2) " under (S)"',
    ),
    Entry(
        "sg.cor5",
        SG,
        "scaling",
        "CNNs, strided or not: coordinates ∝ 1/√d and eq. 7 holds as the image resolution grows (Corollary 5).",
        "EE abs(partial f_k \\/ partial x_i) prop d^(-1\\/2), quad norm(nabla_x cal(L))_1 prop d^(1\\/2)",
    ),
    Entry(
        "sg.thm6",
        SG,
        "scaling",
        "Statement of Theorem 6: replacing a strided conv that keeps 1 neuron out of n by a stride-1 conv followed by average-pooling over n divides all output and loss gradients by n.",
        'EE norm(nabla_x f)_"pooled" \\/ EE norm(nabla_x f)_"strided" prop n^(-1)',
    ),
    Entry(
        "sg.thm6_proof",
        SG,
        "scaling",
        "Proof of Theorem 6 (appendix A.2): the replacement multiplies the gradient variance by 1/n and the average coordinate size by 1/√n.",
        'EE[(partial f \\/ partial x_i)^2]_"pooled" \\/ EE[(partial f \\/ partial x_i)^2]_"strided" prop n^(-1), quad "size ratio" prop n^(-1\\/2)',
    ),
    Entry(
        "sg.lemma10",
        SG,
        "mc",
        "With average-pooling inserted, distinct path-products still have mean 0 and are uncorrelated (Lemma 10).",
        'EE[omega_p] = 0, quad EE[omega_p omega_(p prime)] = 0 " with average pooling"',
    ),
    Entry(
        "sg.thm6_res",
        SG,
        "scaling",
        "If conv and average-pooling layers reduce every channel to 1 pixel, the ℓ∞ vulnerability ε∞‖∂ₓL‖₁ does not depend on the resolution (Theorem 6).",
        "epsilon_oo norm(nabla_x cal(L))_1 prop d^0",
    ),
    Entry(
        "sg.eq16",
        SG,
        "identity",
        "For p = q = 2: ‖∂ₓL‖₂² = Σ_{k,h} q_k q_h (∂ₓf_c − ∂ₓf_k)·(∂ₓf_c − ∂ₓf_h) (eq. 16).",
        "norm(partial_x cal(L))_2^2 = sum_(k,h) q_k q_h (partial_x f_c - partial_x f_k) dot (partial_x f_c - partial_x f_h)",
    ),
    Entry(
        "sg.fig1",
        SG,
        "scaling",
        "Section 4.1 network at initialisation (8 conv-ReLU layers, 2×2 max-pools after layers 2, 4, 6, a final max-pool to 1 px, 12 logits; dilation growing with the resolution): E‖∂ₓL‖₁ and the FGSM vulnerability at ε = 0.006 grow like √d. Empirical: no theorem covers max-pooling.",
        'EE norm(nabla_x cal(L))_1 prop d^(1\\/2), quad EE[cal(L)(x + epsilon "sign" nabla_x cal(L)) - cal(L)(x)] prop d^(1\\/2)',
    ),
    Entry(
        "sg.fig3",
        SG,
        "mc",
        "Section 4.3 network at initialisation (6 conv-ReLU layers, a stride-2 pooling after every 2nd conv, a final average-pool to 1 px): with average-pooling the gradients are smaller than with strided or max-pooling layers.",
        'EE norm(nabla_x cal(L))_1^"avg" < EE norm(nabla_x cal(L))_1^"strided", quad EE norm(nabla_x cal(L))_1^"avg" < EE norm(nabla_x cal(L))_1^"max"',
    ),
    Entry(
        "sg.fig1_trained",
        SG,
        "scaling",
        "After training (Section 4: 'our experiments confirm their conclusions after training'), E_x‖∂ₓL‖₁ on held-out images still grows like √d across resolutions, for max-pooling CNNs trained on the same task at every resolution.",
        'EE_x norm(nabla_x cal(L))_1 prop sqrt(d) " after training"',
    ),
    Entry(
        "sg.fig2_duality",
        SG,
        "mc",
        "Proposition 2 after training: FGSM-augmented training ½(L(x) + L(x + ε_p δ)) and the dual-norm gradient penalty L + (ε_p/2)‖∂ₓL‖_q give networks with the same E_x‖∂ₓL‖_q on held-out images (p = ∞ with q = 1, p = 2 with q = 2; ε_p = ε∞ d^{1/p}).",
        'EE_x norm(nabla_x cal(L))_q "(FGSM at" epsilon")" = EE_x norm(nabla_x cal(L))_q "(penalty at" epsilon\\/2")"',
    ),
    Entry(
        "sg.fig2d",
        SG,
        "mc",
        "Figure 2(d) after training: the FGSM vulnerability is almost a function of E_x‖∂ₓL‖₁, whatever the training method (plain, FGSM-augmented, gradient penalty, at several ε): each method's vulnerability lies within ±0.06 of a line through the other methods' points.",
        'EE["vulnerability"] approx a + b dot EE_x norm(nabla_x cal(L))_1 " across training methods"',
    ),
    Entry(
        "sg.fig2e",
        SG,
        "mc",
        "Figure 2(e) after training: E_x‖∂ₓL‖₂ is proportional to E_x‖∂ₓL‖₁, with a ratio that does not depend on the training method (within ±20% of the plainly trained networks').",
        'EE_x norm(nabla_x cal(L))_2 \\/ EE_x norm(nabla_x cal(L))_1 " is the same for every training method"',
    ),
    Entry(
        "sg.fig3_trained",
        SG,
        "mc",
        "After training, average-pooling networks have a smaller E_x‖∂ₓL‖₁ and a smaller FGSM vulnerability than strided and max-pooling networks (Figure 3), their accuracies reported beside them.",
        'EE_x norm(nabla_x cal(L))_1 ("avg") < EE_x norm(nabla_x cal(L))_1 ("strided"), EE_x norm(nabla_x cal(L))_1 ("max")',
    ),
    Entry(
        "pk.lemmaA1",
        PK,
        "identity",
        "Linear classifier with f(x) = c and f(x+q) = c′ ≠ c: some α ∈ (0, 1), given by eq. 7, makes the scores of c and c′ equal at x + αq (Lemma A.1).",
        "alpha = ((w_(c prime) - w_c) dot x + b_(c prime) - b_c) \\/ ((w_c - w_(c prime)) dot q) in (0, 1)",
    ),
    Entry(
        "pk.thmA3",
        PK,
        "inequality",
        "Linear classifier: Δadv(x; f) ≥ min_{c′≠c} |(w_c′−w_c)·x + b_c′−b_c| / ‖w_c′−w_c‖, checked against the exact minimal perturbation (a convex QP per target class, solved exactly) (Theorem A.3).",
        'Delta_"adv"(x; f) >= min_(c prime != c) abs((w_(c prime) - w_c) dot x + b_(c prime) - b_c) \\/ norm(w_(c prime) - w_c)',
    ),
    Entry(
        "pk.thmA4",
        PK,
        "identity",
        "The bound of A.3 is tight; for f(x) = argmax_i x_i the theorem states Δadv(x; f) = min_{c′≠c} |x_c′ − x_c| (Theorem A.4). Both the tightness and the stated value are checked.",
        'Delta_"adv"(x; f) = min_(c prime != c) abs(x_(c prime) - x_c)',
    ),
    Entry(
        "pk.thmA5",
        PK,
        "inequality",
        "MLP with activations satisfying |g′| ≤ A, |g″| ≤ B: Algorithm A.1's M (and N) bound every second (and first) partial derivative of every output (Theorem A.5), checked against torch Hessians and Jacobians for tanh, sigmoid and softplus MLPs of depth 1-3.",
        "abs(partial^2 h_L^((i)) \\/ partial x_k partial x_l) <= M, quad abs(partial h_L^((i)) \\/ partial x_k) <= N",
    ),
    Entry(
        "pk.fc_bound",
        PK,
        "attack",
        "Appendix A.2: for a smooth MLP h_L followed by a linear classifier, any perturbation r that changes the class has ‖r‖ ≥ (√(‖J‖² + 2M√n κ) − ‖J‖)/(M√n), where J is h_L's Jacobian at x, n its width, κ the Theorem A.3 distance in feature space and M 'a real number bounding the absolute value of all second-order derivatives of h_L'. The proof's step ‖ε‖ ≤ (M/2)√n‖r‖² needs more than that: with entrywise M, |rᵀ∇²h_i r| ≤ M‖r‖₁² ≤ M d‖r‖² (a factor d is missing); Algorithm A.1's M, built from row sums, bounds rᵀ∇²h_i r/‖r‖∞² and makes the step valid. Both versions are checked.",
        "norm(r) >= (sqrt(norm(J)^2 + 2 M sqrt(n) kappa) - norm(J)) / (M sqrt(n))",
    ),
    Entry(
        "pk.conv_bound",
        PK,
        "attack",
        "A conv layer's input perturbation R needs ‖R‖_F ≥ κ/‖W‖_F to move its output by κ (appendix A.3, which rests on Lemma B.3).",
        "norm(R)_F >= kappa \\/ norm(W)_F",
    ),
    Entry(
        "pk.pool_bounds",
        PK,
        "inequality",
        "Pooling layers need ‖R‖_F ≥ κ/t (max, average) or κ/(t q^{2/p}) (L_p), with t defined as √(number of pooled outputs), which makes ‖Z‖_F ≥ κ ⇒ some |z| ≥ κ/t true (the paper's main text, absent from the appendix, defines t).",
        "norm(R)_F >= kappa \\/ t, quad norm(R)_F >= kappa \\/ (t q^(2\\/p))",
    ),
    Entry(
        "pk.lemmaB1",
        PK,
        "inequality",
        "(1) ReLU(a+b) ≤ ReLU(a)+ReLU(b); (2) W ⋆_s (X+R) = W ⋆_s X + W ⋆_s R for strided convolution; (3) ‖ReLU(X)‖_F ≤ ‖X‖_F (Lemma B.1).",
        '"ReLU"(a+b) <= "ReLU"(a) + "ReLU"(b), quad W star_s (X+R) = W star_s X + W star_s R, quad norm("ReLU"(X))_F <= norm(X)_F',
    ),
    Entry(
        "pk.lemmaB2",
        PK,
        "inequality",
        "a_i, b_i ≥ 0 ⇒ Σ a_i b_i ≤ (Σ a_i)(Σ b_i) (Lemma B.2).",
        "a_i, b_i >= 0 => sum_i a_i b_i <= (sum_i a_i)(sum_i b_i)",
    ),
    Entry(
        "pk.lemmaB3",
        PK,
        "inequality",
        "‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F (Lemma B.3).",
        "norm(W star R)_F <= norm(W)_F norm(R)_F",
    ),
    Entry(
        "pk.lemmaB4",
        PK,
        "inequality",
        "Max-pooling is subadditive: z(X+R) ≤ z(X) + z(R) (Lemma B.4, Assumption 4.3).",
        "z(X+R) <= z(X) + z(R)",
    ),
    Entry(
        "pk.lemmaB5",
        PK,
        "inequality",
        "L_p pooling is subadditive (Lemma B.5).",
        "norm(v(X+R))_p <= norm(v(X))_p + norm(v(R))_p",
    ),
    Entry(
        "pk.lemmaB6",
        PK,
        "identity",
        "Average pooling is additive: Assumption 4.3 holds with equality (Lemma B.6).",
        "z(X+R) = z(X) + z(R)",
    ),
    Entry(
        "pk.eq8",
        PK,
        "identity",
        "sigm(x) = ½ tanh(x/2) + ½ and |tanh′|, |tanh″| ≤ 1 (eq. 8).",
        '"sigm"(x) = 1/2 tanh(x\\/2) + 1/2, quad abs(tanh prime) <= 1, quad abs(tanh prime prime) <= 1',
    ),
    Entry(
        "pk.chain",
        PK,
        "attack",
        "End to end: the layer-by-layer lower bound (softmax bound of A.3, then back through dense layers (Taylor, A.2, or ‖W‖₂), conv layers (κ/‖W‖_F, A.3), pooling (κ/t, A.4) and 1-Lipschitz activations) never exceeds the smallest adversarial perturbation that a minimal-norm attack finds. Reported per input as bound/attack, with each layer rule checked along the attack.",
        'Delta_"adv"(x) >= kappa_0, quad kappa_(l-1) = kappa_l \\/ L_l',
    ),
    Entry(
        "tc.kernel_width",
        TC,
        "mc",
        "For the average-pooled net of Theorem 6 (conv 3×3 circular, ReLU, conv, ReLU, 2×2 average pooling, dense), the Monte Carlo d·E[(∂f/∂x_i)²] at a fixed input converges, as the width grows, to the infinite-width kernel prediction ∂²K/∂x_i∂x′_i, which differs from the (H) prediction.",
        'd dot EE[(partial f \\/ partial x_i)^2] -> d dot partial_(x_i) partial_(x prime_i) K(x, x prime)|_(x prime = x) " as width" -> oo',
    ),
    Entry(
        "tc.post_activation",
        TC,
        "mc",
        "For dense ReLU nets with post-activation residual blocks, relu(x + W₂ relu(W₁ x)) (the original ResNet block), the Monte Carlo E‖∂ₓf‖² at a fixed input converges, as the width grows, to the kernel level's exact value (the non-Gaussian per-neuron law propagated on a grid), which (H) misses from the first block.",
        'EE norm(partial_x f)^2 -> (d - 1) alpha + gamma " as width" -> oo, quad x_(l+1) = "relu"(x_l + b_l)',
    ),
)
