"""The real anvil devnet: world deployed and seeded, real Router02 swap, state kept across restarts."""
import json
import subprocess
import sys

import pytest

import contracts
from app.chain import connect, make_web3
from app.devnet import DEV_ACCOUNTS, Devnet, live_code_report
from app.errors import AnvilMissing, PortInUse, RpcUnavailable, WrongChain
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration


def test_manifest_has_live_code_everywhere(w3, manifest):
    assert manifest["chain_id"] == 31337
    assert manifest["contracts"]["Multicall3"] == "0xcA11bde05977b3631167028862bE2a173976CA11"
    report = live_code_report(w3, manifest)
    assert report and all(report.values()), report


def test_seeded_balances(w3, manifest):
    dev = manifest["accounts"]["dev"]
    erc20 = contracts.abi("DemoToken")
    want = {"WETH": 10 * 10**18, "USDC": 25_000 * 10**6, "DAI": 10_000 * 10**18, "WBTC": 10**8, "LINK": 500 * 10**18}
    for sym, amount in want.items():
        c = w3.eth.contract(address=manifest["tokens"][sym]["address"], abi=erc20)
        assert c.functions.balanceOf(dev).call() == amount, sym
        assert c.functions.decimals().call() == manifest["tokens"][sym]["decimals"]
    vault = w3.eth.contract(address=manifest["contracts"]["vUSDC"], abi=contracts.abi("DevVault"))
    shares = vault.functions.balanceOf(dev).call()
    assert vault.functions.convertToAssets(shares).call() == 1_000 * 10**6
    nft = w3.eth.contract(address=manifest["contracts"]["DEVNFT"], abi=contracts.abi("DevNFT"))
    assert [nft.functions.ownerOf(i).call() for i in (1, 2, 3)] == [dev] * 3
    assert w3.eth.get_balance(dev) > 9_000 * 10**18


def test_pool_prices_plausible(w3, manifest):
    router = w3.eth.contract(address=manifest["contracts"]["UniswapV2Router02"], abi=contracts.abi("UniswapV2Router02"))
    t = manifest["tokens"]
    out = router.functions.getAmountsOut(10**18, [t["WETH"]["address"], t["USDC"]["address"]]).call()[-1]
    assert 2_950 * 10**6 < out < 3_000 * 10**6
    out = router.functions.getAmountsOut(10**8, [t["WBTC"]["address"], t["WETH"]["address"]]).call()[-1]
    assert 18 * 10**18 < out < 20 * 10**18


def test_swap_through_real_router(w3, manifest, chain_snapshot):
    dev = manifest["accounts"]["dev"]
    t = manifest["tokens"]
    router = w3.eth.contract(address=manifest["contracts"]["UniswapV2Router02"], abi=contracts.abi("UniswapV2Router02"))
    usdc = w3.eth.contract(address=t["USDC"]["address"], abi=contracts.abi("DemoToken"))
    before = usdc.functions.balanceOf(dev).call()
    quote = router.functions.getAmountsOut(10**17, [t["WETH"]["address"], t["USDC"]["address"]]).call()[-1]
    tx = router.functions.swapExactETHForTokens(quote, [t["WETH"]["address"], t["USDC"]["address"]], dev, 2**32).transact(
        {"from": dev, "value": 10**17})
    rcpt = w3.eth.wait_for_transaction_receipt(tx)
    assert rcpt.status == 1
    assert usdc.functions.balanceOf(dev).call() - before == quote


def test_down_up_keeps_state_and_reset_clears(tmp_path):
    d = Devnet(tmp_path, port=free_port())
    try:
        m = d.up(fresh=True)
        w3 = make_web3(d.rpc_url)
        someone = DEV_ACCOUNTS[5]
        dev = m["accounts"]["dev"]
        usdc = w3.eth.contract(address=m["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
        w3.eth.wait_for_transaction_receipt(usdc.functions.transfer(someone, 123_456).transact({"from": dev}))
        assert d.down() is True
        assert d.status()["running"] is False
        m2 = d.up()
        assert m2 == m
        assert usdc.functions.balanceOf(someone).call() == 123_456
        m3 = d.reset()
        assert m3["tokens"] == m["tokens"]
        w3 = make_web3(d.rpc_url)
        usdc = w3.eth.contract(address=m["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
        assert usdc.functions.balanceOf(someone).call() == 0
        assert usdc.functions.balanceOf(dev).call() == 25_000 * 10**6
    finally:
        d.down()


def test_busy_port_is_a_clear_error(tmp_path, devnet):
    other = Devnet(tmp_path, port=devnet.port)
    with pytest.raises(PortInUse) as e:
        other.up()
    assert e.value.code == "port_in_use" and str(devnet.port) in e.value.message


def test_anvil_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATDAPP_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(AnvilMissing) as e:
        Devnet(tmp_path, port=free_port()).up()
    assert e.value.code == "anvil_missing" and "set-up" in e.value.message


def test_rpc_unreachable_and_wrong_chain(devnet):
    with pytest.raises(RpcUnavailable) as e:
        connect(f"http://127.0.0.1:{free_port()}", timeout=1, retries=0)
    assert e.value.code == "rpc_unavailable"
    with pytest.raises(WrongChain) as e:
        connect(devnet.rpc_url, expected_chain_id=1)
    assert e.value.code == "wrong_chain"


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=120)


def test_cli_manifest_and_errors(settings_env, devnet, manifest):
    r = _cli("devnet", "manifest", "--json", env=dict(settings_env))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tokens"] == manifest["tokens"] and out["contracts"] == manifest["contracts"]
    r = _cli("devnet", "up", "--detach", "--port", str(devnet.port), "--json", env=dict(settings_env))
    assert r.returncode == 0, r.stderr  # already running: idempotent
    env = dict(settings_env, CHATDAPP_HOME=str(REPO / "test-output" / "empty-home"))
    r = _cli("devnet", "manifest", "--json", env=env)
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"]["code"] == "devnet_not_running"
