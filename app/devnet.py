"""The local devnet: anvil from its npm package, the deterministic contract world, its manifest.

Everything is deployed by anvil dev account 0 (tokens, vault, NFT, log) in a fixed order, so a
fresh chain always gets the same addresses. Liquidity comes from dev account 9, so account 0
holds exactly the seeded amounts. State persists through anvil ``--state`` across down/up.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

import contracts
from app.chain import make_web3, rpc_errors, wait_ready
from app.config import DEVNET_CHAIN_ID
from app.errors import AnvilMissing, DevnetError, DevnetNotRunning, PortInUse

REPO_ROOT = Path(__file__).resolve().parents[1]
ANVIL_REL = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
HARDFORK = "cancun"  # the same evmVersion solc compiles for (contracts/compile.js)
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
DEV_ACCOUNTS = [  # anvil's default mnemonic, accounts 0..9
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
]
# Private key of anvil dev account 0: public knowledge, devnet only (the default anvil logger key).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

TOKENS = [  # symbol, name, decimals
    ("USDC", "USD Coin", 6),
    ("DAI", "Dai Stablecoin", 18),
    ("WBTC", "Wrapped BTC", 8),
    ("LINK", "ChainLink Token", 18),
]
USD_PRICE = {"WETH": 3000, "USDC": 1, "DAI": 1, "WBTC": 60000, "LINK": 15}
SEED = {"WETH": 10, "USDC": 25_000, "DAI": 10_000, "WBTC": 1, "LINK": 500}
VAULT_SEED_USDC = 1_000
NFT_IDS = (1, 2, 3)
POOL_WETH = 1000  # WETH on each WETH/X pool side, priced by USD_PRICE
POOL_USD_STABLE = 1_000_000  # each side of USDC/DAI


@dataclass
class DevnetPaths:
    home: Path

    @property
    def dir(self) -> Path:
        return self.home / "devnet"

    @property
    def state(self) -> Path:
        return self.dir / "state.json"

    @property
    def pid(self) -> Path:
        return self.dir / "anvil.pid"

    @property
    def log(self) -> Path:
        return self.dir / "anvil.log"

    @property
    def manifest(self) -> Path:
        return self.home / "devnet.json"


def anvil_binary() -> Path:
    env = os.environ.get("CHATDAPP_ANVIL")
    path = Path(env) if env else REPO_ROOT / ANVIL_REL
    if not path.exists():
        raise AnvilMissing(
            f"anvil was not found at {path}. Run the README set-up command (it installs anvil with npm)."
        )
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


class Devnet:
    """Start/stop/reset the anvil devnet under ``home`` and deploy the world on a fresh chain."""

    def __init__(self, home: Path, port: int = 8545):
        self.paths = DevnetPaths(Path(home))
        self.port = port

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- lifecycle -------------------------------------------------------------------------------
    def running_pid(self) -> int | None:
        try:
            pid = int(self.paths.pid.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _pid_alive(pid) else None

    def up(self, *, fresh: bool = False) -> dict:
        """Start anvil (detached from this process), deploy the world if the chain is fresh, write the manifest."""
        pid = self.running_pid()
        if pid is not None:
            recorded = self._recorded_port()
            if recorded is not None and recorded != self.port:
                raise PortInUse(f"The devnet already runs on port {recorded}; stop it with `chatdapp devnet down` first.")
            return self.ensure_world()
        if port_in_use(self.port):
            raise PortInUse(
                f"Port {self.port} is already in use by another program. Stop it or pick another port with --port."
            )
        binary = anvil_binary()
        self.paths.dir.mkdir(parents=True, exist_ok=True)
        if fresh and self.paths.state.exists():
            self.paths.state.unlink()
        cmd = [
            str(binary), "--port", str(self.port), "--host", "127.0.0.1",
            "--chain-id", str(DEVNET_CHAIN_ID), "--hardfork", HARDFORK,
            "--state", str(self.paths.state), "--state-interval", "5",
            "--block-base-fee-per-gas", "1000000000",
        ]
        log = open(self.paths.log, "ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.paths.pid.write_text(f"{proc.pid} {self.port}\n")
        try:
            wait_ready(self.rpc_url, timeout_s=15)
        except Exception as e:
            self.down()
            tail = self.paths.log.read_text(errors="replace")[-800:]
            raise DevnetError(f"anvil did not start on port {self.port}: {e}. Log tail:\n{tail}") from e
        return self.ensure_world()

    def _recorded_port(self) -> int | None:
        try:
            return int(self.paths.pid.read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def down(self, timeout_s: float = 10.0) -> bool:
        """SIGTERM anvil (it dumps its state on exit) and wait for the PID, so the port is free afterwards."""
        pid = self.running_pid()
        if pid is None:
            self.paths.pid.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            try:  # reap when it is our child (tests); otherwise just poll
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.paths.pid.unlink(missing_ok=True)
        return True

    def reset(self) -> dict:
        self.down()
        self.paths.state.unlink(missing_ok=True)
        self.paths.manifest.unlink(missing_ok=True)
        return self.up(fresh=True)

    def status(self) -> dict:
        pid = self.running_pid()
        out = {"running": pid is not None, "pid": pid, "rpc_url": self.rpc_url, "state_file": str(self.paths.state)}
        if pid is not None:
            port = self._recorded_port() or self.port
            out["rpc_url"] = f"http://127.0.0.1:{port}"
            try:
                w3 = make_web3(out["rpc_url"], timeout=2, retries=0)
                with rpc_errors(out["rpc_url"]):
                    out["chain_id"] = int(w3.eth.chain_id)
                    out["block_number"] = int(w3.eth.block_number)
            except Exception as e:  # status must report, not fail
                out["error"] = str(e)
        return out

    def manifest(self) -> dict:
        if not self.paths.manifest.exists():
            raise DevnetNotRunning("No devnet manifest yet. Start the devnet with `chatdapp devnet up --detach`.")
        return json.loads(self.paths.manifest.read_text())

    # --- the world --------------------------------------------------------------------------------
    def ensure_world(self) -> dict:
        w3 = make_web3(self.rpc_url)
        expected = predicted_addresses()
        with rpc_errors(self.rpc_url):
            deployed = len(w3.eth.get_code(expected["contracts"]["ConversationLog"])) > 0
            if not deployed:
                if w3.eth.get_transaction_count(DEV_ACCOUNTS[0]) != 0:
                    raise DevnetError(
                        "The devnet state is not a chatdapp world (dev account 0 already sent transactions). "
                        "Run `chatdapp devnet reset` to start clean."
                    )
                deploy_world(w3)
        manifest = build_manifest(self.rpc_url)
        self.paths.home.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        tmp.replace(self.paths.manifest)
        return manifest


def _create_address(sender: str, nonce: int) -> str:
    import rlp  # shipped with web3's dependencies
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


# Deployment order from dev account 0; nonces are positions in this list.
_DEPLOY_ORDER = ["WETH", "UniswapV2Factory", "UniswapV2Router02", "USDC", "DAI", "WBTC", "LINK", "vUSDC", "DEVNFT", "ConversationLog"]


def predicted_addresses() -> dict:
    addr = {name: _create_address(DEV_ACCOUNTS[0], i) for i, name in enumerate(_DEPLOY_ORDER)}
    return {
        "tokens": {s: addr[s] for s in ("WETH", "USDC", "DAI", "WBTC", "LINK")},
        "contracts": {
            "UniswapV2Factory": addr["UniswapV2Factory"],
            "UniswapV2Router02": addr["UniswapV2Router02"],
            "vUSDC": addr["vUSDC"],
            "DEVNFT": addr["DEVNFT"],
            "ConversationLog": addr["ConversationLog"],
            "Multicall3": MULTICALL3,
        },
    }


def _units(amount: int | float, decimals: int) -> int:
    return int(amount) * 10**decimals


def deploy_world(w3: Web3) -> None:
    dev, lp = DEV_ACCOUNTS[0], DEV_ACCOUNTS[9]
    expected = predicted_addresses()

    def deploy(name: str, *args) -> str:
        art = contracts.artifact(name)
        c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        tx = c.constructor(*args).transact({"from": dev})
        rcpt = w3.eth.wait_for_transaction_receipt(tx)
        if rcpt.status != 1:
            raise DevnetError(f"deploying {name} failed")
        return rcpt.contractAddress

    def send(fn, sender: str, value: int = 0) -> None:
        rcpt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "value": value}))
        if rcpt.status != 1:
            raise DevnetError(f"seeding transaction {fn.fn_name} failed")

    weth = deploy("WETH9")
    factory = deploy("UniswapV2Factory", dev)
    router = deploy("UniswapV2Router02", factory, weth)
    toks = {sym: deploy("DemoToken", name, sym, dec) for sym, name, dec in TOKENS}
    vault = deploy("DevVault", toks["USDC"], "Vault USDC", "vUSDC")
    nft = deploy("DevNFT")
    log = deploy("ConversationLog")
    got = {"WETH": weth, "UniswapV2Factory": factory, "UniswapV2Router02": router, **toks, "vUSDC": vault, "DEVNFT": nft, "ConversationLog": log}
    want = {**expected["tokens"], **expected["contracts"]}
    for k, v in got.items():
        if v != want[k]:
            raise DevnetError(f"{k} deployed at {v}, expected {want[k]}: the chain was not fresh")

    # Multicall3 at its canonical address: run its creation code in an eth_call to get the runtime code.
    runtime = w3.eth.call({"data": contracts.artifact("Multicall3")["bytecode"]})
    w3.provider.make_request("anvil_setCode", [MULTICALL3, "0x" + bytes(runtime).hex()])

    erc20 = contracts.abi("DemoToken")
    dec = {sym: d for sym, _, d in TOKENS}
    token = {sym: w3.eth.contract(address=a, abi=erc20) for sym, a in toks.items()}
    weth_c = w3.eth.contract(address=weth, abi=contracts.abi("WETH9"))
    router_c = w3.eth.contract(address=router, abi=contracts.abi("UniswapV2Router02"))
    deadline = 2**32 - 1

    # Liquidity from account 9 at the prices in USD_PRICE.
    for sym, t in token.items():
        if sym in ("USDC", "DAI"):
            need = POOL_WETH * USD_PRICE["WETH"] // USD_PRICE[sym] + POOL_USD_STABLE
        else:
            need = POOL_WETH * USD_PRICE["WETH"] // USD_PRICE[sym]
        send(t.functions.mint(lp, _units(need, dec[sym])), dev)
        send(t.functions.approve(router, 2**256 - 1), lp)
    for sym in ("USDC", "DAI", "WBTC", "LINK"):
        amount = _units(POOL_WETH * USD_PRICE["WETH"] // USD_PRICE[sym], dec[sym])
        send(router_c.functions.addLiquidityETH(toks[sym], amount, amount, _units(POOL_WETH, 18), lp, deadline), lp, value=_units(POOL_WETH, 18))
    send(router_c.functions.addLiquidity(
        toks["USDC"], toks["DAI"], _units(POOL_USD_STABLE, 6), _units(POOL_USD_STABLE, 18), 0, 0, lp, deadline), lp)

    # Seed dev account 0.
    send(weth_c.functions.deposit(), dev, value=_units(SEED["WETH"], 18))
    for sym in ("USDC", "DAI", "WBTC", "LINK"):
        extra = VAULT_SEED_USDC if sym == "USDC" else 0
        send(token[sym].functions.mint(dev, _units(SEED[sym] + extra, dec[sym])), dev)
    vault_c = w3.eth.contract(address=vault, abi=contracts.abi("DevVault"))
    send(token["USDC"].functions.approve(vault, _units(VAULT_SEED_USDC, 6)), dev)
    send(vault_c.functions.deposit(_units(VAULT_SEED_USDC, 6), dev), dev)
    nft_c = w3.eth.contract(address=nft, abi=contracts.abi("DevNFT"))
    for i in NFT_IDS:
        send(nft_c.functions.mint(dev, i), dev)


def build_manifest(rpc_url: str) -> dict:
    a = predicted_addresses()
    dec = {"WETH": 18, **{s: d for s, _, d in TOKENS}}
    names = {"WETH": "Wrapped Ether", **{s: n for s, n, _ in TOKENS}}
    return {
        "chain_id": DEVNET_CHAIN_ID,
        "rpc_url": rpc_url,
        "hardfork": HARDFORK,
        "accounts": {"dev": DEV_ACCOUNTS[0], "liquidity": DEV_ACCOUNTS[9]},
        "tokens": {
            s: {"address": a["tokens"][s], "decimals": dec[s], "name": names[s], "symbol": s}
            for s in ("WETH", "USDC", "DAI", "WBTC", "LINK")
        },
        "contracts": a["contracts"],
        "vaults": {"vUSDC": {"address": a["contracts"]["vUSDC"], "asset": "USDC", "decimals": 6}},
        "nfts": {"DEVNFT": {"address": a["contracts"]["DEVNFT"], "name": "Dev NFT"}},
    }


def live_code_report(w3: Web3, manifest: dict) -> dict[str, bool]:
    """Which manifest addresses have code on the chain (acceptance: all of them)."""
    out = {}
    with rpc_errors():
        for s, t in manifest["tokens"].items():
            out[s] = len(w3.eth.get_code(t["address"])) > 0
        for n, addr in manifest["contracts"].items():
            out[n] = len(w3.eth.get_code(addr)) > 0
    return out

