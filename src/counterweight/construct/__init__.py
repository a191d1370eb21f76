"""Target weights under a policy: schemes, exact capping, methodologies, fund rules, optimiser.

* :mod:`~counterweight.construct.schemes`: cap, equal, inverse volatility, score tilts, blends;
* :mod:`~counterweight.construct.capping`: exact capping with proportional redistribution
  (single names, issuers, disjoint groups), no solver;
* :mod:`~counterweight.construct.methodology`: S&P Select Sector, MSCI 10/40 and 25/50, RIC and
  UCITS as constraints;
* :mod:`~counterweight.construct.rules`: RIC 25/50 and UCITS 5/10/40 checks;
* :mod:`~counterweight.construct.optimize`: the general path with cvxpy + Clarabel;
* :mod:`~counterweight.construct.policy`: validated TOML policies (:func:`load_policy`).
"""

from counterweight.construct.capping import GroupBound, bounded_weights, cap_weights
from counterweight.construct.policy import Construction, Policy, load_policy
from counterweight.construct.rules import RuleCheck, check

__all__ = [
    "Construction",
    "GroupBound",
    "Policy",
    "RuleCheck",
    "bounded_weights",
    "cap_weights",
    "check",
    "load_policy",
]
