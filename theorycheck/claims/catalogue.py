"""The catalogue: every claim of the two papers (``../shared/CLAIMS.md``, in its order) and theorycheck's own.

One table (:data:`ENTRIES`, kept in :mod:`._entries` so that ``theorycheck claims`` lists it without importing
the builders) holds each claim's ID, source, kind, statement and formula (typst math): ``theorycheck claims``, the
reports and the docs read them there, and nowhere else. :data:`BUILDERS` names, per ID, the function
that makes its :class:`~theorycheck.claims.Claim` from the entry; the functions live in modules named by how a
claim is checked:

======================= =======================================================================================
module                  checks
======================= =======================================================================================
``families``            theorems about families of networks (``theorems``: each defined once), Monte Carlo
``graph_facts``         Lemma 7, Lemma 8 and (S), decided exactly from the graph
``path_products``       path-products and the path sum of tiny nets, in float64
``searches``            identities and inequalities, searched for counterexamples
``first_order``         first-order attack statements as scaling laws in ε
``bounds``              robustness lower bounds against minimal-norm attacks
``experiments``         empirical comparisons (the papers' Section 4 networks)
``kernel_limit``        a width limit against the infinite-width kernel level
``trained``             the papers' conclusions after training (networks trained in batches)
``training_methods``    Figure 2 after training: networks trained by different methods, compared
======================= =======================================================================================

A new claim of the catalogue is one entry here and one builder; a claim of your own needs neither (register it:
``theorycheck.claims.register``).
"""

from __future__ import annotations

from collections.abc import Callable

# importing the catalogue registers every built-in cell kind (sample and module in _sampling, the others next to
# their claims); the kind registry imports it before any lookup
from theorycheck.claims import (  # noqa: F401
    _sampling,
    bounds,
    experiments,
    families,
    first_order,
    graph_facts,
    kernel_limit,
    path_products,
    searches,
    trained,
    training_methods,
)
from theorycheck.claims._base import Claim
from theorycheck.claims._entries import ENTRIES, Entry

__all__ = ["AFTER_TRAINING", "BUILDERS", "CATALOGUE", "ENTRIES"]

BUILDERS: dict[str, Callable[[Entry], Claim]] = {
    "sg.lemma1": first_order.lemma1,
    "sg.prop2": first_order.prop2,
    "sg.eq5": searches.search,
    "sg.sec3_1": families.sec3_1,
    "sg.pathsum": path_products.pathsum,
    "sg.lemma9": path_products.lemma9,
    "sg.lemma7": graph_facts.lemma7,
    "sg.symmetry": graph_facts.symmetry,
    "sg.lemma8": graph_facts.lemma8,
    "sg.eq8": families.eq8,
    "sg.thm3": families.thm3,
    "sg.eq9": searches.search,
    "sg.eq9_var": families.eq9_var,
    "sg.thm4_l2": families.thm4_l2,
    "sg.thm4_coord": families.thm4_coord,
    "sg.cor5": families.cor5,
    "sg.thm6": families.thm6,
    "sg.thm6_proof": families.thm6_proof,
    "sg.lemma10": path_products.lemma10,
    "sg.thm6_res": families.thm6_res,
    "sg.eq16": searches.search,
    "sg.fig1": experiments.fig1,
    "sg.fig3": experiments.fig3,
    "sg.fig1_trained": trained.fig1_trained,
    "sg.fig2_duality": training_methods.fig2_duality,
    "sg.fig2d": training_methods.fig2d,
    "sg.fig2e": training_methods.fig2e,
    "sg.fig3_trained": trained.fig3_trained,
    "pk.lemmaA1": searches.search,
    "pk.thmA3": searches.search,
    "pk.thmA4": searches.search,
    "pk.thmA5": searches.search,
    "pk.fc_bound": bounds.fc_bound,
    "pk.conv_bound": searches.search,
    "pk.pool_bounds": searches.search,
    "pk.lemmaB1": searches.search,
    "pk.lemmaB2": searches.search,
    "pk.lemmaB3": searches.search,
    "pk.lemmaB4": searches.search,
    "pk.lemmaB5": searches.search,
    "pk.lemmaB6": searches.search,
    "pk.eq8": searches.search,
    "pk.chain": bounds.chain,
    "tc.kernel_width": kernel_limit.kernel_width,
    "tc.post_activation": kernel_limit.post_activation,
}

#: the claims about trained networks (Section 4's "after training"; beyond CLAIMS.md's list, which is about
#: networks at initialisation): each trains networks for minutes, so test suites run them at budgets of their own
AFTER_TRAINING = ("sg.fig1_trained", "sg.fig2_duality", "sg.fig2d", "sg.fig2e", "sg.fig3_trained")

#: every catalogue claim, by ID, in the table's order
CATALOGUE: dict[str, Claim] = {e.id: BUILDERS[e.id](e) for e in ENTRIES}
