"""S&P Select Sector and MSCI capped methodologies on hand-worked examples."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from counterweight.construct.capping import GroupBound
from counterweight.construct.methodology import (
    MSCI_10_40,
    MSCI_25_50,
    Limits,
    limits_for,
    sp_select_sector,
    top_k_capped,
)
from counterweight.errors import ConfigError, InfeasibleError

# A sector: companies at 30/25/19/11/5% and 40 small ones at 0.25% each (hand-worked below).
SECTOR = np.array([0.30, 0.25, 0.19, 0.11, 0.05] + [0.0025] * 40)


def test_sp_single_name_step_by_hand() -> None:
    # A (30%) > 24% -> 23%; the excess lifts B to 27.5% > 24% -> 23% as well; the remaining 45%
    # becomes 54% (x 1.2): C 22.8%, D 13.2%, E 6%, small 0.3% each. The pre-2024 50% rule then
    # cuts C to 4.5% (23 + 23 + 22.8 crosses 50%) with the 18.3% excess to the small names
    # (0.7575% each), then D (23 + 23 + 13.2 > 50%) to 4.5% (0.975% each), then E (23 + 23 + 6)
    # to 4.5%: small names end at 1.0125%.
    out = sp_select_sector(SECTOR, rule="pre2024")
    expected = np.array([0.23, 0.23, 0.045, 0.045, 0.045] + [0.010125] * 40)
    np.testing.assert_allclose(out, expected, atol=1e-15)


def test_sp_2024_rule_by_hand() -> None:
    # After the single-name step the companies above 4.8% hold 88% (23 + 23 + 22.8 + 13.2 + 6),
    # over the 50% trigger. The 2024 rule scales them together to the 45% target (x 45/88); the
    # small names take the other 55% in proportion (1.375% each). E falls to 3.07% < 4.8%, so
    # the companies above 4.8% hold 41.9% <= 50%.
    out = sp_select_sector(SECTOR, rule="2024")
    f = 0.45 / 0.88
    expected = np.array([0.23 * f, 0.23 * f, 0.228 * f, 0.132 * f, 0.06 * f] + [0.01375] * 40)
    np.testing.assert_allclose(out, expected, atol=1e-15)
    # trigger and target are separate parameters: a 50% target gives the pre-September-2024
    # reading of the new rule (x 50/88, small names at 1.25%)
    g = 0.5 / 0.88
    half = np.array([0.23 * g, 0.23 * g, 0.228 * g, 0.132 * g, 0.06 * g] + [0.0125] * 40)
    np.testing.assert_allclose(
        sp_select_sector(SECTOR, rule="2024", aggregate_target=0.5), half, atol=1e-15
    )
    with pytest.raises(ConfigError, match="aggregate_target <= aggregate"):
        sp_select_sector(SECTOR, aggregate_target=0.55)


# Technology Select Sector, rebalancing reference date Friday 14 June 2024 (effective after the
# close of Friday 21 June). Uncapped company weights of the S&P 500 Information Technology
# members on 2024-06-14, in percent, from counterweight's sample data (company market caps from
# the Yahoo snapshots carried to the date by adjusted prices; company level, not float-adjusted,
# so approximate): Microsoft 21.638, Nvidia 21.315, Apple 21.264, Broadcom 5.305, then Oracle
# 2.515, AMD 1.702, Qualcomm 1.573, Adobe 1.524, Salesforce 1.457, Applied Materials 1.285,
# Cisco 1.182, Accenture 1.177 and 47 smaller companies holding the remaining 18.065%. They
# match the press accounts of the rebalance: without caps all three leaders were above 20%;
# S&P's legacy rule left Microsoft and Nvidia near 21% and cut Apple to 4.5% (SSGA's Matthew
# Bartolini and Bloomberg's estimate of 21.1% for Nvidia, reported 14-17 June 2024).
XLK_LEADERS = [21.638, 21.315, 21.264, 5.305, 2.515, 1.702, 1.573, 1.524, 1.457, 1.285, 1.182]
XLK_LEADERS += [1.177]
XLK_2024_06_14 = np.array(XLK_LEADERS + [(100 - sum(XLK_LEADERS)) / 47] * 47) / 100


def test_xlk_june_2024_legacy_rule_by_hand() -> None:
    b = XLK_2024_06_14
    out = sp_select_sector(b, rule="pre2024")
    # nobody above 24%; above 4.8%: MSFT, NVDA, AAPL, AVGO = 69.52% > 50%. Ranked, MSFT + NVDA
    # = 42.95% and + AAPL crosses 50%: AAPL is cut to 4.5%; MSFT, NVDA, AVGO (>= 4.5%) keep
    # their weights and the 25.01% excess goes to the companies below 4.5% in proportion.
    # Then MSFT + NVDA + AVGO = 48.26% <= 50%: done.
    small = b < 0.045
    s = (1 - b[0] - b[1] - b[3] - 0.045) / b[small].sum()
    expected = np.where(small, b * s, b)
    expected[2] = 0.045
    np.testing.assert_allclose(out, expected, atol=1e-15)
    assert out[0] == pytest.approx(0.21638) and out[1] == pytest.approx(0.21315)
    assert out[4] == pytest.approx(0.02515 * s) and out[4] < 0.045  # Oracle stays small


def test_plan_passes_the_45_percent_target_on() -> None:
    from counterweight.construct.methodology import plan

    p = plan(XLK_2024_06_14, "sp_select_sector")
    assert p.groups[0].hi == 0.45 and "cut to 45% together" in p.notes[0]
    # below the 50% trigger nothing is cut and the limit passed on stays 50%
    calm = np.array([0.2, 0.2] + [0.6 / 20] * 20)
    assert plan(calm, "sp_select_sector").groups[0].hi == 0.5
    assert plan(XLK_2024_06_14, "sp_select_sector_pre2024").groups[0].hi == 0.5


def test_xlk_june_2024_under_the_2024_rule_by_hand() -> None:
    b = XLK_2024_06_14
    out = sp_select_sector(b)  # rule="2024", trigger 50%, target 45%
    # the four companies above 4.8% (69.522%) are scaled together to 45%; the other 30.478%
    # is scaled to 55% (x 1.8046; Oracle 4.54% < 4.8%). Broadcom falls to 3.43%, so the
    # companies above 4.8% then hold 41.57%: no second round.
    large = b > 0.048
    expected = np.where(large, b * 0.45 / b[large].sum(), b * 0.55 / b[~large].sum())
    np.testing.assert_allclose(out, expected, atol=1e-15)
    np.testing.assert_allclose(
        out[:4] * 100, [14.006, 13.797, 13.764, 3.434], atol=5e-4
    )  # MSFT, NVDA, AAPL, AVGO in percent
    assert out[out > 0.048].sum() == pytest.approx(0.45 - out[3])


def test_sp_technology_june_2024_pattern() -> None:
    # Three companies near 22% each (Microsoft, Nvidia, Apple in June 2024): under the pre-2024
    # rule the third is cut to 4.5% while the two others stay above 20%; the 2024 rule scales
    # all three down together instead.
    b = np.array([0.23, 0.225, 0.22, 0.05] + [0.275 / 55] * 55)
    old = sp_select_sector(b, rule="pre2024")
    assert old[2] == pytest.approx(0.045)
    assert old[0] > 0.2 and old[1] > 0.2
    new = sp_select_sector(b, rule="2024")
    assert new[0] / new[2] == pytest.approx(0.23 / 0.22)
    for out in (old, new):
        assert abs(out.sum() - 1) < 1e-12
        assert out.max() <= 0.24 + 1e-12
        assert out[out > 0.048 + 1e-12].sum() <= 0.5 + 1e-12


@settings(max_examples=60, deadline=None)
@given(
    w=arrays(np.float64, st.integers(25, 80), elements=st.floats(1e-3, 1.0)),
    rule=st.sampled_from(["2024", "pre2024"]),
)
def test_sp_rules_always_hold(w: np.ndarray, rule: str) -> None:
    out = sp_select_sector(w, rule=rule)
    assert abs(out.sum() - 1) <= 1e-12
    assert out.max() <= 0.24 + 1e-12
    assert out[out > 0.048 + 1e-12].sum() <= 0.5 + 1e-12
    # a compliant portfolio is left alone (fixed point)
    np.testing.assert_allclose(sp_select_sector(out, rule=rule), out, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    threshold=st.floats(0.001, 0.99),
    target=st.floats(0.001, 0.99),
    aggregate=st.floats(0.001, 1.5),
)
def test_sp_limits_out_of_order_are_config_errors(
    threshold: float, target: float, aggregate: float
) -> None:
    ordered = threshold <= target <= aggregate <= 1
    if ordered:  # valid limits: weights, or an explained infeasibility - never a ConfigError
        try:
            out = sp_select_sector(
                SECTOR, threshold=threshold, aggregate=aggregate, aggregate_target=target
            )
        except InfeasibleError as exc:
            assert "cannot meet the Select Sector limits" in str(exc)
        else:
            assert out[out > threshold + 1e-12].sum() <= aggregate + 1e-12
    else:
        with pytest.raises(ConfigError, match="threshold <= aggregate_target <= aggregate"):
            sp_select_sector(
                SECTOR, threshold=threshold, aggregate=aggregate, aggregate_target=target
            )


def test_sp_issuer_level_caps_share_classes_together() -> None:
    b = np.array([0.2, 0.15, 0.1] + [0.55 / 40] * 40)  # names 0 and 1: one issuer at 35%
    codes = np.concatenate([[0, 0], np.arange(1, 42)])
    out = sp_select_sector(b, issuer_codes=codes)
    assert out[0] + out[1] <= 0.24 + 1e-12
    assert out[0] / out[1] == pytest.approx(0.2 / 0.15)


def test_msci_buffers_and_limits() -> None:
    assert limits_for("msci_10_40") == pytest.approx(Limits(0.09, 0.045, 0.36)) or (
        limits_for("msci_10_40").single == pytest.approx(0.09)
    )
    lim = limits_for("msci_25_50")
    assert (lim.single, lim.threshold, lim.aggregate) == pytest.approx((0.225, 0.045, 0.45))
    assert limits_for("msci_10_40", buffers=False) == MSCI_10_40
    with pytest.raises(ConfigError):
        limits_for("ftse")


def test_msci_10_40_worked_example() -> None:
    # Parent: 20%, 15%, 5 names at 6% and 35 at 1.1428..%: 10/40 with buffers (9%/4.5%/36%).
    b = np.array([0.20, 0.15] + [0.06] * 5 + [0.35 / 35] * 35)
    out, k = top_k_capped(b, MSCI_10_40.buffered())
    big = out > 0.045 + 1e-12
    assert out.max() <= 0.09 + 1e-12
    assert out[big].sum() <= 0.36 + 1e-12
    # every candidate k was tried; the chosen one keeps the parent's order among the large names
    assert k == int(big.sum())
    assert np.all(np.diff(out[:k]) <= 1e-15)
    out2, _ = top_k_capped(b, MSCI_25_50.buffered())
    assert out2.max() <= 0.225 + 1e-12 and out2[out2 > 0.045].sum() <= 0.45 + 1e-12


def test_plan_overrides_limits() -> None:
    from counterweight.construct.methodology import plan

    b = np.array([0.3, 0.2, 0.1, 0.08, 0.07] + [0.25 / 50] * 50)
    p = plan(b, "ucits", single=0.08, threshold=0.04, aggregate=0.30)
    assert p.weights.max() <= 0.08 + 1e-12
    assert p.weights[p.weights > 0.04 + 1e-12].sum() <= 0.30 + 1e-12
    default = plan(b, "sp_select_sector")
    np.testing.assert_allclose(default.weights, sp_select_sector(b), atol=0)
    with pytest.raises(ConfigError, match="threshold <= single"):
        plan(b, "ric", single=0.03, threshold=0.05)


# ------------------------------------------------------------------ top-k against brute force
# Independent reference for the UCITS / RIC / MSCI constructions: every subset S of issuers
# *allowed* above the threshold gives a convex QP (x_i <= single on S, <= threshold off S,
# sum_S x <= aggregate, min sum (x-b)^2/b), solved with cvxpy + Clarabel; the best feasible
# subset is the optimum of the rule. Issuers with identical base weights are interchangeable
# (the problem is symmetric in them), so only how many of each are in S matters. A subset whose
# caps cannot hold 100% (min(|S| single, aggregate) + (n - |S|) threshold < 1) is infeasible and
# skipped without a solve. (cvxpy has no installed solver for a mixed-integer QP here: SCIPY
# and HIGHS take MILPs only, so enumeration is the reference.)


class SubsetQP:
    """min sum (x-b)^2/b s.t. sum x = 1, 0 <= x <= cap, sum_S x <= aggregate (cvxpy, DPP)."""

    def __init__(self, b: np.ndarray, aggregate: float) -> None:
        cvxpy = pytest.importorskip("cvxpy")  # only these tests need it, not the S&P ones
        self.cvxpy = cvxpy
        self.b, self.aggregate = b, aggregate
        n = b.size
        self.x = cvxpy.Variable(n)
        self.cap = cvxpy.Parameter(n, nonneg=True)
        self.mask = cvxpy.Parameter(n, nonneg=True)
        obj = cvxpy.sum_squares(cvxpy.multiply(1 / np.sqrt(b), self.x - b))
        cons = [cvxpy.sum(self.x) == 1, self.x >= 0, self.x <= self.cap]
        cons.append(self.mask @ self.x <= aggregate)
        self.prob = cvxpy.Problem(cvxpy.Minimize(obj), cons)

    def solve(self, inside: np.ndarray, cap: np.ndarray) -> np.ndarray:
        from test_capping import _polish, cvx_proportional

        group = [GroupBound("S", inside, 0.0, self.aggregate)]
        self.cap.value, self.mask.value = cap, inside.astype(float)
        try:
            self.prob.solve(
                solver="CLARABEL",
                tol_gap_abs=1e-12,
                tol_gap_rel=1e-12,
                tol_feas=1e-12,
                tol_ktratio=1e-12,
            )
            ok = self.prob.status == "optimal" and self.x.value is not None
        except self.cvxpy.error.SolverError:
            ok = False
        if not ok:  # the robust chain of formulations and solvers
            return cvx_proportional(self.b, cap, group)
        return _polish(self.b, cap, group, np.asarray(self.x.value, dtype=float))


def brute_force(b: np.ndarray, lim: Limits) -> tuple[np.ndarray, float] | None:
    """Best (weights, objective) over every subset allowed above the threshold; None: none fits."""
    b = np.asarray(b, dtype=float) / np.sum(b)
    n = b.size
    _, cls = np.unique(b, return_inverse=True)
    members = [np.flatnonzero(cls == c) for c in range(int(cls.max()) + 1)]
    qp = SubsetQP(b, lim.aggregate)
    best: tuple[np.ndarray, float] | None = None
    for counts in itertools.product(*[range(m.size + 1) for m in members]):
        size = sum(counts)
        if min(size * lim.single, lim.aggregate) + (n - size) * lim.threshold < 1 - 1e-12:
            continue
        inside = np.zeros(n, dtype=bool)
        for m, c in zip(members, counts, strict=True):
            inside[m[:c]] = True
        x = qp.solve(inside, np.where(inside, lim.single, lim.threshold))
        obj = float(np.sum((x - b) ** 2 / b))
        if best is None or obj < best[1]:
            best = (x, obj)
    return best


def assert_matches_brute_force(b: np.ndarray, lim: Limits) -> np.ndarray | None:
    """top_k_capped equals the brute-force optimum (or both find the rule infeasible)."""
    ref = brute_force(b, lim)
    if ref is None:
        with pytest.raises(InfeasibleError):
            top_k_capped(b, lim)
        return None
    x, _ = top_k_capped(b, lim)
    bn = np.asarray(b, dtype=float) / np.sum(b)
    assert abs(x.sum() - 1) <= 1e-12
    assert x.max() <= lim.single + 1e-12
    assert x[x > lim.threshold + 1e-12].sum() <= lim.aggregate + 1e-12
    obj = float(np.sum((x - bn) ** 2 / bn))
    assert obj == pytest.approx(ref[1], rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(x, ref[0], atol=1e-8)
    return x


UCITS = Limits(0.10, 0.05, 0.40)
RIC = Limits(0.25, 0.05, 0.50)


def test_ucits_one_big_issuer_is_feasible() -> None:
    # Issue 10: one issuer at 30% and 17 at 4.1% was called infeasible under UCITS 5/10/40
    # (only 1 issuer above 5% in the parent). 3 at 10% + 15 at 4.67% complies; the optimum is
    # the big issuer at 10% and the next 5 at 6% (40% together), the other 12 at 5%.
    b = np.array([0.30] + [0.041] * 17)
    x = assert_matches_brute_force(b, UCITS)
    assert x is not None
    np.testing.assert_allclose(x, [0.10] + [0.06] * 5 + [0.05] * 12, atol=1e-15)
    alt = np.array([0.10] * 3 + [0.70 / 15] * 15)  # the compliant example
    assert alt[alt > 0.05].sum() <= 0.40 + 1e-12 and alt.max() <= 0.10


def test_infeasible_message_counts_the_single_cap() -> None:
    # with MSCI's buffers (9% / 4.5% / 36%) the same 18 issuers hold at most 99%
    b = np.array([0.30] + [0.041] * 17)
    msg = (
        r"18 issuers cannot hold 100% with each issuer at most 9% and the issuers above 4.5% "
        r"together at most 36%: at best 4 issuers above 4.5% hold 36% \(each at most 9%\) and "
        r"the other 14 at most 4.5% each \(63%\), 99% in all; it takes at least 19 issuers"
    )
    with pytest.raises(InfeasibleError, match=msg):
        top_k_capped(b, UCITS.buffered())
    assert brute_force(b, UCITS.buffered()) is None
    # RIC: 2 issuers at 25% and 9 at 5% make 95%; the 25% cap, not only the 50%, binds
    with pytest.raises(InfeasibleError, match=r"2 issuers above 5% hold 50% \(each at most 25%\)"):
        top_k_capped(np.ones(11), RIC)
    with pytest.raises(InfeasibleError, match=r"it takes at least 16 issuers"):
        top_k_capped(np.ones(12), UCITS)


# A Denmark-like parent: one issuer near half the index (as Novo Nordisk was in MSCI Denmark in
# 2023-24; the other weights are illustrative), 3 issuers above 4.5%. Capped under MSCI 10/40
# with buffers (9% / 4.5% / 36%), the old search (at most as many issuers above 4.5% as in the
# parent) held the 4th issuer at 4.5%; the optimum puts it at 8.06%, 3.56 pp higher.
DENMARK = np.array([0.45, 0.07, 0.05, 0.044, 0.04, 0.035, 0.03] + [0.281 / 15] * 15)


def test_denmark_like_msci_10_40_matches_brute_force() -> None:
    x = assert_matches_brute_force(DENMARK, MSCI_10_40.buffered())
    assert x is not None
    # hand check of the optimum: 3 issuers at 9%, the 4th at 0.044 * s with the other 18 at
    # min(4.5%, b * s), s the common scale: 4th + 3 x 4.5% + 15 x (0.281/15) s = 73% ->
    # s = (0.73 - 0.135) / (0.044 + 0.281) = 1.8308; 4th = 8.06%, 3 x 9% + 8.06% <= 36%
    s = (1 - 0.27 - 3 * 0.045) / (0.044 + 0.281)
    np.testing.assert_allclose(
        x[:7], [0.09, 0.09, 0.09, 0.044 * s, 0.045, 0.045, 0.045], atol=1e-12
    )
    assert x[3] == pytest.approx(0.0806, abs=5e-5)


def test_msci_25_50_buffered_against_brute_force() -> None:
    b = np.array([0.60, 0.15, 0.06, 0.04, 0.035] + [0.115 / 10] * 10)
    x = assert_matches_brute_force(b, MSCI_25_50.buffered())
    assert x is not None and x.max() == pytest.approx(0.225)


def _random_parent(rng: np.random.Generator, n_distinct: int, n_tail: int) -> np.ndarray:
    """A concentrated parent: distinct Pareto-sized leaders and a tail of identical issuers."""
    lead = np.sort(rng.pareto(0.8, n_distinct) + 0.05)[::-1]
    tail = np.full(n_tail, float(rng.uniform(0.01, 0.06)))
    b = np.concatenate([lead, tail * lead.sum() / max(1, n_tail) * rng.uniform(0.5, 3.0)])
    return b / b.sum()


def test_random_25_10_50_against_brute_force() -> None:
    # every issuer distinct: the brute force enumerates all 2^n subsets (n = 7..9)
    rng = np.random.default_rng(2024)
    lim = Limits(0.25, 0.10, 0.50)
    for n in (7, 7, 7, 8, 8, 8, 8, 9, 9):
        b = rng.pareto(1.0, n) + 0.02
        assert_matches_brute_force(b / b.sum(), lim)


def test_random_ucits_and_ric_against_brute_force() -> None:
    rng = np.random.default_rng(10)
    for lim, sizes in (
        (UCITS, ((5, 13), (5, 14), (4, 15), (5, 15))),
        (RIC, ((5, 9), (5, 10), (4, 11))),
    ):
        for n_distinct, n_tail in sizes:
            assert_matches_brute_force(_random_parent(rng, n_distinct, n_tail), lim)
            assert_matches_brute_force(_random_parent(rng, n_distinct, n_tail), lim.buffered())
