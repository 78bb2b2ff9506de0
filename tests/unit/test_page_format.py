"""What the page prints for numbers, and the persisted page settings."""
from __future__ import annotations

import json

import pytest

from app.errors import ConfigError
from app.ui import holdings_panel as hp
from app.ui import prefs

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("exact, shown", [
    ("9989.976047521990590231", "~9,989.976048"), ("25000", "25,000"), ("0.5", "0.5"), ("1000000.10", "1,000,000.1"),
    ("0.0000001", "~0"), ("123.456", "123.456"),
])
def test_amounts_are_grouped_and_rounding_is_marked(exact, shown):
    assert hp.short_amount(exact) == shown


@pytest.mark.parametrize("value, shown", [
    ("3000", "$3,000.00"), ("0.99999999999999999999", "~$1.00"), ("0.000123456789", "~$0.000123457"), (None, "no price"),
])
def test_prices(value, shown):
    assert hp.price(value) == shown


def test_money_and_shares():
    assert (hp.usd("30103428.02"), hp.usd(None), hp.pct("0.9956"), hp.pct(None)) == ("$30,103,428.02", "—", "99.6%", "—")


def test_chart_keeps_exact_labels_and_drops_unpriced_rows():
    spec = hp.chart([{"asset": "ETH", "usd": "29969928.02", "share": "0.9956"}, {"asset": "X", "usd": None}]).to_dict()
    (values,) = [d for d in spec["datasets"].values()]
    assert values == [{"asset": "ETH", "usd": 29969928.02, "label": "$29,969,928.02", "share": "0.9956"}]


def test_prefs_override_the_environment_and_bad_values_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATDAPP_HOME", str(tmp_path))
    monkeypatch.setenv("CHATDAPP_SLIPPAGE_BPS", "50")
    assert prefs.effective_settings().slippage_bps == 50
    prefs.save_prefs(tmp_path, {"slippage_bps": 80, "rpc_url": "http://127.0.0.1:9", "home": "/elsewhere"})
    s = prefs.effective_settings()
    assert (s.slippage_bps, s.rpc_url, s.home) == (80, "http://127.0.0.1:9", tmp_path)  # home is not a page setting
    with pytest.raises(ConfigError):
        prefs.save_prefs(tmp_path, {"slippage_bps": "lots"})
    assert json.loads((tmp_path / "page-settings.json").read_text())["slippage_bps"] == 80
    prefs.save_prefs(tmp_path, {"rpc_url": None})  # cleared: back to the environment's
    assert prefs.effective_settings().rpc_url != "http://127.0.0.1:9"
    (tmp_path / "page-settings.json").write_text("{not json")
    with pytest.raises(ConfigError):
        prefs.effective_settings()
