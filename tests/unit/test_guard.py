import pytest

from agents.guard import SentenceGate, allowed_from, claims, guard_text, unsupported

pytestmark = pytest.mark.unit

FACTS = {"total_usd": "81000.00", "top_holdings": [{"symbol": "WETH", "amount": "10", "usd": "30000.00", "share": "0.37"}],
         "address": "0xBDE527584625ff7fe5E64Be2Ac7A077f04a36b5f"}


def test_supported_figures_pass_rounded_and_formatted():
    a = allowed_from(FACTS)
    assert unsupported("You hold 10 WETH worth $30,000, about 37% of $81,000.", a) == []
    assert unsupported("Your address 0xbde527584625ff7fe5e64be2ac7a077f04a36b5f is fine.", a) == []


def test_invented_number_address_and_symbol_are_caught():
    a = allowed_from(FACTS)
    assert unsupported("You hold 12 WETH.", a) == ["12"]
    assert unsupported("Send it to 0x000000000000000000000000000000000000dEaD.", a) == ["0x000000000000000000000000000000000000dEaD"]
    assert unsupported("You also hold DOGE.", a) == ["DOGE"]
    assert unsupported("Call 0xdeadbeef now.", a) == ["0xdeadbeef"]


def test_standard_names_and_words_are_not_claims():
    assert claims("An ERC-20 on Uniswap V2 is OK; I checked the USD value.") == []


def test_citations_must_be_in_range():
    a = allowed_from({"x": "y"}, citations=2)
    assert unsupported("It moves tokens [1][2].", a) == []
    assert unsupported("See [3].", a) == ["3"]


def test_guard_text_keeps_only_clean_sentences():
    kept, bad = guard_text("You hold 10 WETH. It is worth $99. Nice wallet!", allowed_from(FACTS))
    assert kept == "You hold 10 WETH. Nice wallet!"
    assert bad == ["99"]


def test_sentence_gate_streams_whole_checked_sentences():
    g = SentenceGate(allowed_from(FACTS))
    out = []
    for delta in ["You hold ", "10 WE", "TH. You hold 5", "00 DAI. ", "Bye!"]:
        out += g.feed(delta)
    out += g.close()
    assert out == ["You hold 10 WETH.", "Bye!"]
    assert set(g.rejected) == {"500", "DAI"}


def test_sentence_gate_drops_a_stub_cut_off_by_max_tokens():
    g = SentenceGate(allowed_from(FACTS))
    assert g.feed("You hold 10 WETH. Your top holdings are") == ["You hold 10 WETH."]
    assert g.close() == [] and g.text == "You hold 10 WETH."
