"""The page in headless Chromium with a fake EIP-1193 wallet over the real anvil: one story, in order.

Tests in this module share one page and run top to bottom (each stage builds on the previous one).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

import contracts
from app.receipts import verify_receipt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect.set_options(timeout=20_000)

DEV = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
RECIPIENT = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"  # anvil account 6: untouched by the devnet world
SPENDER = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"  # anvil account 7


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


def card(page):
    """The newest review card (the innermost, last block holding a step)."""
    return page.get_by_test_id("stVerticalBlock").filter(has_text="Step 1 of").last


def test_send_5_usdc_review_sign_confirm(page, shots, w3, manifest):
    usdc = w3.eth.contract(address=manifest["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
    before = usdc.functions.balanceOf(RECIPIENT).call()
    ask(page, f"send 5 USDC to {RECIPIENT}")
    expect(page.get_by_text(f"Send 5 USDC to {RECIPIENT}").last).to_be_visible()
    expect(card(page).get_by_text("Policy: ALLOW")).to_be_visible()
    expect(card(page).get_by_text("USDC: -5")).to_be_visible()  # the simulated balance change
    shot(page, shots, "05-review-card.png")
    card(page).get_by_role("button", name="Sign in wallet").click()
    expect(card(page).get_by_text(re.compile(r"Confirmed in block \d+ · gas used [\d,]+ · status success"))).to_be_visible()
    assert usdc.functions.balanceOf(RECIPIENT).call() - before == 5 * 10**6
    shot(page, shots, "06-confirmed.png")


def test_rejection_in_the_wallet_is_calm(page, shots, wallet, w3):
    sent = len(wallet.sent)
    ask(page, f"send 1 DAI to {RECIPIENT}")
    expect(page.get_by_text(f"Send 1 DAI to {RECIPIENT}").last).to_be_visible()
    wallet.reject.add("eth_sendTransaction")
    card(page).get_by_role("button", name="Sign in wallet").click()
    expect(card(page).get_by_text("You rejected this in your wallet. Nothing was sent")).to_be_visible()
    expect(card(page).get_by_role("button", name="Sign in wallet")).to_be_enabled()  # free to try again
    assert len(wallet.sent) == sent
    shot(page, shots, "07-rejected.png")


def test_a_bad_address_in_chat(page, shots):
    ask(page, "send 5 USDC to 0x12345")
    expect(page.get_by_text("(invalid_address)").last).to_be_visible()
    expect(page.get_by_test_id("stChatInputTextArea")).to_have_value("send 5 USDC to 0x12345")
    shot(page, shots, "08-bad-address.png")
    page.get_by_test_id("stChatInputTextArea").fill("")


def test_wrong_chain_blocks_signing_until_switched(page, shots, wallet):
    wallet.chain_id = 1
    page.evaluate("window.__fakeWallet.emit('chainChanged', '0x1')")
    expect(sidebar(page).get_by_text("Your wallet is on chain 1")).to_be_visible()
    expect(card(page).get_by_text("Switch your wallet to chain 31337 first.")).to_be_visible()
    expect(card(page).get_by_role("button", name="Sign in wallet")).to_be_disabled()
    shot(page, shots, "09-wrong-chain.png")
    sidebar(page).get_by_role("button", name="Switch wallet to this network").click()
    expect(sidebar(page).get_by_text("Chain 31337 ✓")).to_be_visible()
    assert wallet.chain_id == 31337
    expect(card(page).get_by_role("button", name="Sign in wallet")).to_be_enabled()


def test_holdings_tab_and_one_click_revoke(page, shots, w3, manifest):
    usdc = w3.eth.contract(address=manifest["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
    usdc.functions.approve(SPENDER, 2**256 - 1).transact({"from": DEV})  # a risky approval to find
    page.get_by_role("tab", name="Holdings").click()
    expect(page.get_by_text("Vault positions")).to_be_visible()
    expect(page.get_by_text("Dev NFT (DEVNFT): 3 — #1, #2, #3")).to_be_visible()
    expect(page.get_by_text(f"USDC → {SPENDER}: unlimited")).to_be_visible()
    shot(page, shots, "10-holdings-tab.png")
    page.get_by_role("button", name="Revoke").first.click()
    expect(card(page).get_by_text(re.compile(f"Revoke {SPENDER}'s USDC allowance"))).to_be_visible()
    card(page).get_by_role("button", name="Sign in wallet").click()
    expect(card(page).get_by_text("Confirmed in block")).to_be_visible()
    assert usdc.functions.allowance(DEV, SPENDER).call() == 0


def test_anchor_with_my_wallet_and_verify_receipt(page, shots, wallet, w3, manifest):
    page.get_by_role("tab", name="Accountability").click()
    page.get_by_role("button", name="Anchor with my wallet").click()
    expect(page.get_by_text(re.compile(r"^Anchored \d+ turn")).first).to_be_visible()
    tx = wallet.sent[-1]
    rcpt = w3.eth.get_transaction_receipt(tx)
    assert rcpt["status"] == 1 and rcpt["to"] == manifest["contracts"]["ConversationLog"]
    # The record of the 5 USDC transfer: its receipt verifies in the page and, downloaded, with verify_receipt.
    row = page.get_by_test_id("stHorizontalBlock").filter(has_text="Wallet sent step 1/1").first
    row.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Receipt verified").first).to_be_visible()
    row = page.get_by_test_id("stHorizontalBlock").filter(has_text="Wallet sent step 1/1").first
    with page.expect_download() as dl:
        row.get_by_role("button", name="Receipt").click()
    receipt = json.loads(Path(dl.value.path()).read_text())
    turn = json.loads(receipt["canonical"])
    assert turn["text"].startswith(f'Wallet sent step 1/1 of "Send 5 USDC to {RECIPIENT}"')
    assert turn["facts"]["tx_hash"] == wallet.sent[0] and turn["facts"]["status"] == "confirmed"
    assert receipt["tx_hash"] == tx  # anchored by the wallet's own transaction
    assert verify_receipt(receipt, w3)["ok"]
    shot(page, shots, "11-anchored-verified.png")


def test_rpc_down_mid_session_then_back(page, shots, rpc_proxy):
    page.get_by_role("tab", name="Chat").click()
    rpc_proxy.down()
    try:
        ask(page, "what do I hold?")
        expect(page.get_by_text("(rpc_unavailable)").last).to_be_visible()
        expect(sidebar(page).get_by_text(DEV)).to_be_visible()  # the page is still there and usable
        shot(page, shots, "12-rpc-down.png")
    finally:
        rpc_proxy.up()
    page.get_by_test_id("stChatInputTextArea").fill("what do I hold?")
    page.get_by_test_id("stChatInputTextArea").press("Enter")
    expect(page.get_by_text("worth $").last).to_be_visible()


def test_disconnect_then_connect_again(page, wallet):
    sidebar(page).get_by_role("button", name="Disconnect").click()
    expect(sidebar(page).get_by_role("button", name="Connect wallet")).to_be_visible()
    expect(sidebar(page).get_by_text(DEV)).to_have_count(0)
    assert ("wallet_revokePermissions", [{"eth_accounts": {}}]) in wallet.calls
    sidebar(page).get_by_role("button", name="Connect wallet").click()
    expect(sidebar(page).get_by_text(DEV)).to_be_visible()
    expect(sidebar(page).get_by_role("button", name="Sign in with Ethereum")).to_be_visible()  # a new sign-in is needed


def test_without_a_wallet_a_typed_address_is_read_only(browser, page_server, shots):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        pg.goto(page_server["url"])
        expect(sidebar(pg).get_by_text("No browser wallet found")).to_be_visible()
        box = sidebar(pg).get_by_label("Read-only address", exact=True)
        box.fill(RECIPIENT)
        box.press("Enter")
        ask(pg, "what do I hold?")
        expect(pg.locator("[data-testid='stVegaLiteChart']").first).to_be_visible()
        expect(pg.get_by_text("Wallet 0x976E…0aa9 on chain 31337").last).to_be_visible()
        shot(pg, shots, "13-read-only.png")
    finally:
        ctx.close()
