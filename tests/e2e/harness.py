"""End-to-end harness: the page under `streamlit run`, a fake EIP-1193 wallet backed by the real anvil,
and an on/off HTTP proxy between the page and anvil (to take "the RPC" down mid-session)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from eth_account import Account
from eth_account.messages import encode_defunct

from app.devnet import DEV_KEY

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Injected before any page script: an EIP-1193 provider announced both as window.ethereum and by
# EIP-6963. Every request goes to the test process (window.__fakeWalletRpc), which plays the wallet.
FAKE_PROVIDER_JS = """
(() => {
  const listeners = {};
  const provider = {
    isChatdappE2E: true,
    request: async ({ method, params }) => {
      const r = await window.__fakeWalletRpc(method, params || []);
      if (r.error) { const e = new Error(r.error.message); e.code = r.error.code; throw e; }
      return r.result;
    },
    on: (ev, fn) => { (listeners[ev] ||= []).push(fn); },
    removeListener: (ev, fn) => { listeners[ev] = (listeners[ev] || []).filter((f) => f !== fn); },
  };
  window.__fakeWallet = { emit: (ev, arg) => (listeners[ev] || []).forEach((f) => f(arg)) };
  window.ethereum = provider;
  const info = { uuid: "e2e-wallet", name: "E2E Wallet", rdns: "dev.chatdapp.e2e",
                 icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider",
    { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
"""


class FakeWallet:
    """The wallet's side of the fake provider: dev account 0, signing on the test side, txs sent by anvil."""

    def __init__(self, rpc_url: str, chain_id: int = 31337):
        self.rpc_url = rpc_url
        self.account = Account.from_key(DEV_KEY)
        self.chain_id = chain_id
        self.authorized = False
        self.reject: set[str] = set()  # methods the "person" will refuse once each
        self.calls: list[tuple[str, list]] = []
        self.sent: list[str] = []

    def __call__(self, method: str, params: list) -> dict:
        self.calls.append((method, params))
        if method in self.reject:
            self.reject.discard(method)
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        if method == "eth_requestAccounts":
            self.authorized = True
            return {"result": [self.account.address]}
        if method == "eth_accounts":
            return {"result": [self.account.address] if self.authorized else []}
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "wallet_switchEthereumChain":
            self.chain_id = int(params[0]["chainId"], 16)
            return {"result": None}
        if method == "wallet_revokePermissions":
            self.authorized = False
            return {"result": None}
        if method == "personal_sign":
            text = bytes.fromhex(params[0][2:]).decode()
            sig = Account.sign_message(encode_defunct(text=text), private_key=DEV_KEY).signature.to_0x_hex()
            return {"result": sig}
        if method == "eth_sendTransaction" and self.chain_id != 31337:
            return {"error": {"code": 4901, "message": "The wallet is on another chain."}}
        body = requests.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10).json()
        if method == "eth_sendTransaction" and "result" in body:
            self.sent.append(body["result"])
        return {k: body[k] for k in ("result", "error") if k in body}


class RpcProxy:
    """Forwards JSON-RPC POSTs to anvil; ``down()`` closes the port (connection refused), ``up()`` reopens it."""

    def __init__(self, target: str, port: int):
        self.target, self.port = target, port
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        target = self.target

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                r = requests.post(target, data=body, headers={"content-type": "application/json"}, timeout=10)
                self.send_response(r.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def start_page(port: int, env: dict, log: Path) -> subprocess.Popen:
    """`streamlit run` the page; output goes to ``log`` (a pipe nobody reads could fill and stall the server)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--global.developmentMode", "false"]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_http(url: str, timeout_s: float = 30.0) -> float:
    t0 = time.monotonic()
    while True:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return time.monotonic() - t0
        except requests.RequestException:
            pass
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError(f"{url} did not answer within {timeout_s} s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        raise RuntimeError("Debian `chromium` is not installed (setup.sh installs it with apt).")
    return path
