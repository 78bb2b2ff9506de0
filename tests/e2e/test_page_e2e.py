"""The page in headless Chromium with a fake EIP-1193 wallet over the real anvil: one story, in order.

Tests in this module share one page and run top to bottom (each stage builds on the previous one).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEV = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def settle(page) -> None:
    """Wait for the script run to finish and stale elements to be replaced."""
    page.wait_for_timeout(200)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')")


def shot(page, shots, name: str) -> None:
    settle(page)
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.wait_for_timeout(300)
    page.screenshot(path=shots / name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def ask(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def test_load_and_connect(page, shots, wallet):
    expect(page.get_by_role("heading", name="chatdapp")).to_be_visible()
    expect(sidebar(page).get_by_text("Found: E2E Wallet")).to_be_visible()
    shot(page, shots, "01-loaded.png")
    sidebar(page).get_by_role("button", name="Connect wallet").click()
    expect(sidebar(page).get_by_text(DEV)).to_be_visible()
    expect(sidebar(page).get_by_text("Wallet connected.")).to_be_visible()
    assert ("eth_requestAccounts", []) in wallet.calls
    shot(page, shots, "02-connected.png")


def test_sign_in(page, shots, wallet):
    sidebar(page).get_by_role("button", name="Sign in with Ethereum").click()
    expect(sidebar(page).get_by_text("Signed in as 0xf39F…2266").first).to_be_visible()
    signed = [p for m, p in wallet.calls if m == "personal_sign"]
    text = bytes.fromhex(signed[-1][0][2:]).decode()
    assert text.startswith("127.0.0.1:") and f"\n{DEV}\n" in text and "Chain ID: 31337" in text
    shot(page, shots, "03-signed-in.png")


def test_what_do_i_hold(page, shots):
    ask(page, "what do I hold?")
    expect(page.get_by_text("worth $").first).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible()
    shot(page, shots, "04-holdings.png")


def test_anchor_with_my_wallet_and_verify_receipt(page, shots, wallet, w3, manifest):
    page.get_by_role("tab", name="Accountability").click()
    page.get_by_role("button", name="Anchor with my wallet").click()
    expect(page.get_by_text(re.compile(r"^Anchored \d+ turn")).first).to_be_visible()
    tx = wallet.sent[-1]
    rcpt = w3.eth.get_transaction_receipt(tx)
    assert rcpt["status"] == 1 and rcpt["to"] == manifest["contracts"]["ConversationLog"]
    page.get_by_role("button", name="Verify").first.click()
    expect(page.get_by_text("Receipt verified").first).to_be_visible()
    shot(page, shots, "05-anchored-verified.png")
