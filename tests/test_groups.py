"""Groups: the Mag 7 (seven issuers, eight tickers), the rest, sectors, custom baskets."""

from __future__ import annotations

import pytest

import counterweight as cw
from counterweight.errors import ConfigError, InputError
from counterweight.groups import MAG7, load_groups, parse_group_spec, rest_of, sector_groups


def test_mag7_is_seven_issuers_on_the_sample() -> None:
    m = cw.load_sample()
    mask = MAG7.mask(m)
    assert mask.sum() == 8
    issuers = set(m.securities["issuer"][mask])
    assert len(issuers) == 7
    rest = rest_of(m, MAG7)
    assert len(rest.tickers) == len(m.tickers) - 8
    assert not set(rest.tickers) & set(MAG7.tickers)


def test_sector_groups_partition_the_classified_tickers() -> None:
    m = cw.load_sample()
    groups = sector_groups(m)
    assert len(groups) == 11
    covered = [t for g in groups for t in g.tickers]
    assert len(covered) == len(set(covered)) == m.securities["sector"].notna().sum()


def test_group_specs_and_files(tmp_path) -> None:
    g = parse_group_spec("Chips=nvda, AVGO ,amd,NVDA")
    assert g.name == "Chips" and g.tickers == ("NVDA", "AVGO", "AMD")
    with pytest.raises(ConfigError):
        parse_group_spec("no-equals-sign")
    with pytest.raises(ConfigError):
        parse_group_spec("Empty=")
    toml = tmp_path / "g.toml"
    toml.write_text('[groups]\nBanks = ["JPM", "BAC"]\nPayments = ["V", "MA"]\n')
    names = [x.name for x in load_groups(toml)]
    assert names == ["Banks", "Payments"]
    bad = tmp_path / "b.toml"
    bad.write_text('[groups]\nBanks = "JPM"\n')
    with pytest.raises(ConfigError, match=r"groups\.Banks"):
        load_groups(bad)
    csv = tmp_path / "g.csv"
    csv.write_text("group,ticker\nBanks,JPM\nBanks,bac\nPayments,V\n")
    got = {x.name: x.tickers for x in load_groups(csv)}
    assert got == {"Banks": ("JPM", "BAC"), "Payments": ("V",)}
    csv2 = tmp_path / "g2.csv"
    csv2.write_text("group,ticker\nBanks,\n")
    with pytest.raises(InputError) as info:
        load_groups(csv2)
    assert info.value.row == 2
