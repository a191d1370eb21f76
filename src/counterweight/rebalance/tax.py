"""Tax lots, realised gains, lot order and wash sales (US federal rules, simplified).

* **Holding period** (IRC §1222(3)): a gain is long-term when the asset was held "for more
  than 1 year". The holding period starts the day after acquisition, so a lot bought
  2025-03-01 and sold 2026-03-01 is short-term, sold 2026-03-02 long-term:
  ``long = sold > acquired + 1 year`` (:func:`is_long_term`).
* **Tax of a lot sale** in a taxable account: gain g = shares x (price - basis) USD; tax =
  g x (rate_long or rate_short + state rate). A loss (g < 0) gives a negative tax (a saving,
  assuming it offsets other gains). Sales in tax-deferred (IRA, 401k) and tax-exempt (Roth)
  accounts realise nothing.
* **Wash sales** (IRC §1091(a)): a loss is disallowed when substantially identical stock is
  bought "within a period beginning 30 days before the date of such sale or disposition and
  ending 30 days after such date"; an IRA / Roth purchase counts too (Rev. Rul. 2008-5). So a
  buy on day b of a ticker sold at a loss on day s in any account of the household is refused
  when |b - s| <= 30 days (:func:`wash_blocked`); open windows persist in the store
  (:func:`record_wash_windows`, :func:`open_wash_windows`).
* **Lot order**: ``tax`` sells first the lots with the least tax per dollar sold,
  (price - basis) / price x rate: losses first (the deepest short-term losses before long-term
  ones), then the highest basis, long-term before short-term at the same basis; or ``fifo``,
  ``lifo``, ``hifo`` (highest basis first) or ``specific`` (the file's lot order).

Settings come from a TOML file validated by :class:`TaxSettings`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from counterweight.errors import ConfigError

LotOrder = Literal["tax", "fifo", "lifo", "hifo", "specific"]
WASH_DAYS = 30  # IRC §1091(a): 30 days before or after the loss sale


class HouseholdBudget(BaseModel):
    """Per-household overrides: realised-gain budget for the year and gains realised so far."""

    model_config = ConfigDict(extra="forbid")
    gain_budget: float | None = Field(default=None, ge=0)
    realised: float = 0.0


class TaxSettings(BaseModel):
    """Tax settings (rates are fractions, amounts USD).

    ``gain_budget``: net realised gain allowed per household this calendar year (None: no
    budget); ``realised``: net gain already realised this year; ``households``: per-household
    overrides of both. ``tax_weight`` lambda: objective distance + lambda x tax / value, i.e. a
    lot is sold only when its tax per dollar sold is below 1 / lambda (0: no cut-off).
    ``harvest_losses``: sell taxable lots with a loss of at least ``harvest_threshold`` of
    their basis and buy a replacement that is not substantially identical (``replacements``,
    else the largest same-sector peer of another issuer).
    """

    model_config = ConfigDict(extra="forbid")
    short_term_rate: float = Field(ge=0, le=1)
    long_term_rate: float = Field(ge=0, le=1)
    state_rate: float = Field(default=0.0, ge=0, le=1)
    gain_budget: float | None = Field(default=None, ge=0)
    realised: float = 0.0
    households: dict[str, HouseholdBudget] = Field(default_factory=dict)
    harvest_losses: bool = False
    harvest_threshold: float = Field(default=0.10, ge=0, le=1)
    replacements: dict[str, str] = Field(default_factory=dict)
    lot_order: LotOrder = "tax"
    tax_weight: float = Field(default=0.0, ge=0)
    trade_date: str | None = None
    asset_location: bool = True
    wash_sales: bool = True

    @model_validator(mode="after")
    def _check(self) -> TaxSettings:
        if self.trade_date is not None:
            try:
                pd.Timestamp(self.trade_date)
            except ValueError as exc:
                raise ValueError(f"trade_date: expected YYYY-MM-DD ({exc})") from None
        return self

    def budget(self, household: str) -> tuple[float, float]:
        """(gain budget USD (inf: none), gains already realised USD) of a household."""
        over = self.households.get(household)
        b = (
            over.gain_budget
            if over is not None and over.gain_budget is not None
            else self.gain_budget
        )
        r = over.realised if over is not None else self.realised
        return (np.inf if b is None else float(b)), float(r)

    def rates(self) -> tuple[float, float]:
        """(short-term, long-term) combined rates, federal + state."""
        return self.short_term_rate + self.state_rate, self.long_term_rate + self.state_rate


def no_tax() -> TaxSettings:
    """Taxes off: zero rates, no budget, no harvesting, no asset location, no wash-sale rule."""
    return TaxSettings(
        short_term_rate=0.0, long_term_rate=0.0, asset_location=False, wash_sales=False
    )


def load_tax(path: str | Path) -> TaxSettings:
    """Read and validate a tax TOML file; errors name the file and the key."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: tax settings file not found")
    try:
        raw: dict[str, Any] = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    raw = raw.get("tax", raw)
    try:
        return TaxSettings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise ConfigError(f"{p}: {key}: {err['msg']}") from None


def is_long_term(acquired: Any, sold: Any) -> np.ndarray:
    """True where a lot acquired on ``acquired`` and sold on ``sold`` was held more than one
    year (IRC §1222(3)): sold > acquired + 1 calendar year (Feb 29 + 1 year = Feb 28)."""
    acq = pd.DatetimeIndex(np.atleast_1d(np.asarray(acquired, dtype="datetime64[ns]")))
    anniversary = acq + pd.DateOffset(years=1)
    sold_ts = np.asarray(sold, dtype="datetime64[ns]")
    return np.asarray(sold_ts > anniversary.to_numpy())


def lot_tax(
    shares: np.ndarray,
    price: np.ndarray,
    basis: np.ndarray,
    long_term: np.ndarray,
    taxable: np.ndarray,
    settings: TaxSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """(realised gain USD, estimated tax USD) of selling ``shares`` of each lot.

    gain = shares x (price - basis) where the account is taxable, else 0; tax = gain x
    (long or short rate + state rate). Negative tax is the saving of a loss.
    """
    st, lt = settings.rates()
    gain = np.where(taxable, shares * (price - basis), 0.0)
    return gain, gain * np.where(long_term, lt, st)


def order_key(
    lots: pd.DataFrame, settings: TaxSettings, long_term: np.ndarray, taxable: np.ndarray
) -> np.ndarray:
    """Sort key of each lot within its position (ascending: sold first)."""
    st, lt = settings.rates()
    px = lots["price"].to_numpy(dtype=float)
    basis = lots["basis"].to_numpy(dtype=float)
    acq = lots["acquired"].to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
    if settings.lot_order == "fifo":
        return acq
    if settings.lot_order == "lifo":
        return -acq
    if settings.lot_order == "hifo":
        return -basis
    if settings.lot_order == "specific":
        return np.arange(len(lots), dtype=float)
    # tax per dollar sold; ties (e.g. untaxed accounts) broken by highest basis
    rate = np.where(long_term, lt, st)
    per_dollar = np.where(taxable, (px - basis) / px * rate, 0.0)
    return per_dollar - 1e-12 * basis / np.maximum(px, 1e-300)


def tax_per_dollar(
    lots: pd.DataFrame, settings: TaxSettings, long_term: np.ndarray, taxable: np.ndarray
) -> np.ndarray:
    """Tax per dollar sold of each lot, (price - basis) / price x rate (0 outside taxable)."""
    st, lt = settings.rates()
    px = lots["price"].to_numpy(dtype=float)
    basis = lots["basis"].to_numpy(dtype=float)
    return np.where(taxable, (px - basis) / px * np.where(long_term, lt, st), 0.0)


# ---------------------------------------------------------------------------- wash sales
WASH_TABLE = """CREATE TABLE IF NOT EXISTS wash_sale_windows (
    household VARCHAR NOT NULL, ticker VARCHAR NOT NULL, date DATE NOT NULL,
    kind VARCHAR NOT NULL, account VARCHAR)"""


def wash_blocked(buy_date: Any, sale_dates: Any) -> bool:
    """True when a buy on ``buy_date`` falls within 30 days of any loss sale (IRC §1091(a))."""
    s = pd.DatetimeIndex(np.atleast_1d(np.asarray(sale_dates, dtype="datetime64[ns]")))
    if not len(s):
        return False
    return bool((np.abs((s - pd.Timestamp(buy_date)).days) <= WASH_DAYS).any())


def open_wash_windows(store: Any, as_of: Any) -> pd.DataFrame:
    """Events within 30 days of ``as_of`` from the store: household, ticker, date, kind
    (``loss_sale``: buys are refused; ``buy``: loss sales are refused). ``store``: a
    :class:`~counterweight.data.store.Store` (its DuckDB connection is used, in a table of
    this module's own), or None (no history)."""
    cols = ["household", "ticker", "date", "kind"]
    if store is None:
        return pd.DataFrame(columns=cols)
    day = pd.Timestamp(as_of).date()
    tables = store.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'wash_sale_windows'"
    ).fetchone()
    if not tables or not tables[0]:
        return pd.DataFrame(columns=cols)
    frame = store.con.execute(
        "SELECT household, ticker, date, kind FROM wash_sale_windows "
        "WHERE abs(date_diff('day', date, CAST(? AS DATE))) <= ?",
        [day, WASH_DAYS],
    ).df()
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[cols]


def record_wash_windows(store: Any, trades: pd.DataFrame, date: Any) -> int:
    """Keep the loss sales (in taxable accounts) and the buys of ``trades`` (columns
    household, account, ticker, side, gain) in the store, so later runs within 30 days
    respect them. Idempotent per (household, ticker, date, kind, account). Returns rows kept."""
    if store is None or trades.empty:
        return 0
    t = trades
    loss = t[(t["side"] == "SELL") & (t["gain"] < 0)]
    buy = t[t["side"] == "BUY"]
    rows = pd.concat(
        [
            loss[["household", "ticker", "account"]].assign(kind="loss_sale"),
            buy[["household", "ticker", "account"]].assign(kind="buy"),
        ]
    ).drop_duplicates()
    rows = rows.assign(date=pd.Timestamp(date).date())[
        ["household", "ticker", "date", "kind", "account"]
    ]
    with store.transaction() as con:
        con.execute(WASH_TABLE)
        con.register("incoming_wash", rows)
        try:
            con.execute(
                "DELETE FROM wash_sale_windows w USING incoming_wash i WHERE w.household = i.household "
                "AND w.ticker = i.ticker AND w.date = i.date AND w.kind = i.kind "
                "AND w.account = i.account"
            )
            con.execute("INSERT INTO wash_sale_windows SELECT * FROM incoming_wash")
        finally:
            con.unregister("incoming_wash")
    return len(rows)
