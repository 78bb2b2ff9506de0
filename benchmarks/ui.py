"""The page's speed: `streamlit run` to first render and to an interactive chat input; the page's own
overhead per chat turn, excluding the assistant (model + services); and the README screenshot.

    .venv/bin/python benchmarks/ui.py [--runs 3] [--turns 8]

Needs Debian `chromium`. Starts its own devnet. Prints figures, writes benchmarks/results/ui.json and
docs/page.png. The chat model is the `fake` backend, so the per-turn figure is the page's own cost.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.devnet import Devnet  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e import harness  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RECIPIENT = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
TURNS = ["what do I hold?", f"send 5 USDC to {RECIPIENT}", "swap 100 USDC for DAI", "send 5 USDC to 0x12345"]


def first_render(browser, env: dict, runs: int) -> dict:
    render, interactive = [], []
    for _ in range(runs):
        port = free_port()
        t0 = time.perf_counter()
        proc = harness.start_page(port, env, Path(env["CHATDAPP_HOME"]) / "streamlit.log")
        try:
            harness.wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout_s=60)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}")
            page.get_by_role("heading", name="chatdapp").wait_for(timeout=60_000)
            render.append(time.perf_counter() - t0)
            page.wait_for_function("() => { const t = document.querySelector('[data-testid=\"stChatInputTextArea\"]');"
                                   " return t && !t.disabled; }", timeout=60_000)
            interactive.append(time.perf_counter() - t0)
            page.close()
        finally:
            harness.stop(proc)
    return {"first_render_s": _stats(render), "interactive_chat_input_s": _stats(interactive)}


def turn_overhead(turns: int) -> dict:
    """AppTest runs the real page and the real assistant in-process; the time inside the assistant's
    generator is subtracted from each turn's wall time, leaving the page's own work (two script runs:
    the answer, then the redraw with interactive cards)."""
    from streamlit.testing.v1 import AppTest

    from app.ui import assistant

    spent: list[float] = []
    real_turn = assistant.turn

    def timed_turn(message, ctx):
        gen = real_turn(message, ctx)
        while True:
            t = time.perf_counter()
            try:
                ev = next(gen)
            except StopIteration:
                spent.append(time.perf_counter() - t)
                return
            spent.append(time.perf_counter() - t)
            yield ev

    assistant.turn = timed_turn
    try:
        at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120)
        at.run()
        at.text_input(key="readonly_address").input(harness.FakeWallet("").account.address).run()
        rows = []
        for i in range(turns + 1):
            spent.clear()
            t0 = time.perf_counter()
            at.chat_input[0].set_value(TURNS[i % len(TURNS)]).run()
            total = time.perf_counter() - t0
            if at.exception:
                raise RuntimeError(at.exception)
            rows.append({"message": TURNS[i % len(TURNS)], "total_s": total, "assistant_s": sum(spent),
                         "page_s": total - sum(spent)})
    finally:
        assistant.turn = real_turn
    warm = rows[1:]  # the first turn also builds the cached services (store, web3, drafter)
    return {
        "first_turn": {k: round(v, 4) if isinstance(v, float) else v for k, v in rows[0].items()},
        "page_overhead_per_turn_ms": _stats([r["page_s"] * 1000 for r in warm], digits=1),
        "assistant_per_turn_ms": _stats([r["assistant_s"] * 1000 for r in warm], digits=1),
        "turns": len(warm),
    }


def screenshot(browser, env: dict, rpc_url: str, out: Path) -> dict:
    """The README picture: connected, signed in, a holdings answer and a review card, after signing."""
    wallet = harness.FakeWallet(rpc_url)
    port = free_port()
    proc = harness.start_page(port, env, Path(env["CHATDAPP_HOME"]) / "streamlit.log")
    try:
        harness.wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout_s=60)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.expose_function("__fakeWalletRpc", wallet)
        ctx.add_init_script(harness.FAKE_PROVIDER_JS)
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{port}")
        side = page.get_by_test_id("stSidebar")
        side.get_by_role("button", name="Connect wallet").click()
        side.get_by_role("button", name="Sign in with Ethereum").click()
        side.get_by_text("Signed in as").first.wait_for()
        box = page.get_by_test_id("stChatInputTextArea")
        t0 = time.perf_counter()
        box.fill("what do I hold?")
        box.press("Enter")
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        box.fill(f"send 5 USDC to {RECIPIENT}")
        box.press("Enter")
        sign = page.get_by_role("button", name="Sign in wallet")
        sign.wait_for()
        warm = time.perf_counter() - t0
        sign.click()
        page.get_by_text("Confirmed in block").first.wait_for()
        page.wait_for_timeout(800)
        page.set_viewport_size({"width": 1400, "height": 2000})
        page.wait_for_timeout(800)
        page.get_by_role("heading", name="chatdapp").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=out)
        ctx.close()
        return {"holdings_first_turn_s": round(cold, 3), "draft_card_turn_s": round(warm, 3)}
    finally:
        harness.stop(proc)


def _stats(xs: list[float], digits: int = 3) -> dict:
    return {"p50": round(statistics.median(xs), digits), "min": round(min(xs), digits), "max": round(max(xs), digits)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--turns", type=int, default=8)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        devnet = Devnet(Path(tmp) / "devnet-home", port=free_port())
        manifest = devnet.up(fresh=True)
        home = Path(tmp) / "page-home"
        home.mkdir()
        (home / "devnet.json").write_text(json.dumps(manifest))
        env = {"CHATDAPP_HOME": str(home), "CHATDAPP_RPC_URL": devnet.rpc_url, "CHATDAPP_LLM": "fake",
               "HF_HUB_OFFLINE": "1"}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=harness.chromium(), args=harness.CHROMIUM_ARGS)
                start = first_render(browser, env, args.runs)
                browser_turn = screenshot(browser, env, devnet.rpc_url, REPO / "docs" / "page.png")
                browser.close()
            os.environ.update(env)
            overhead = turn_overhead(args.turns)
        finally:
            devnet.down()
    out = {
        "machine": f"{platform.machine()} cores={os.cpu_count()}",
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),  # the cores are shared: read figures with it
        "runs": args.runs,
        **start,
        **overhead,
        "browser_enter_to_answer": browser_turn,
        "goals": {"first_render_s": 3.0, "page_overhead_per_turn_ms": 200},
    }
    print(f"streamlit run -> first render:           p50 {out['first_render_s']['p50']} s (max {out['first_render_s']['max']})")
    print(f"streamlit run -> interactive chat input: p50 {out['interactive_chat_input_s']['p50']} s")
    print(f"page overhead per chat turn (warm, {out['turns']} turns): p50 {out['page_overhead_per_turn_ms']['p50']} ms "
          f"(max {out['page_overhead_per_turn_ms']['max']}); assistant p50 {out['assistant_per_turn_ms']['p50']} ms")
    print(f"browser, Enter -> answer drawn: first question (chart) {browser_turn['holdings_first_turn_s']} s; "
          f"next (draft card) {browser_turn['draft_card_turn_s']} s")
    path = REPO / "benchmarks" / "results" / "ui.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path} and {REPO / 'docs' / 'page.png'}")


if __name__ == "__main__":
    main()
