"""S&P Select Sector and MSCI capped methodologies on hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from counterweight.construct.methodology import (
    MSCI_10_40,
    MSCI_25_50,
    Limits,
    limits_for,
    sp_select_sector,
    top_k_capped,
)
from counterweight.errors import ConfigError

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
    # After the single-name step the companies above 4.8% hold 88% (23 + 23 + 22.8 + 13.2 + 6).
    # The 2024 rule scales them together by 50/88; the small names take the other 50% in
    # proportion (1.25% each). E falls to 3.41% < 4.8%, so the large ones hold 46.6% <= 50%.
    out = sp_select_sector(SECTOR, rule="2024")
    f = 0.5 / 0.88
    expected = np.array([0.23 * f, 0.23 * f, 0.228 * f, 0.132 * f, 0.06 * f] + [0.0125] * 40)
    np.testing.assert_allclose(out, expected, atol=1e-15)


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
