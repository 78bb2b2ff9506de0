"""One page server, one browser, one fake wallet for the whole e2e module; chain state reverted afterwards."""
from __future__ import annotations

import json

import pytest

from tests.conftest import free_port
from tests.e2e import harness


@pytest.fixture(scope="module")
def shots(output_dir):
    d = output_dir / "e2e"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def module_snapshot(w3):
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    w3.provider.make_request("evm_revert", [snap])


@pytest.fixture(scope="module")
def rpc_proxy(devnet):
    proxy = harness.RpcProxy(devnet.rpc_url, free_port())
    proxy.up()
    yield proxy
    proxy.down()


@pytest.fixture(scope="module")
def page_server(rpc_proxy, manifest, tmp_path_factory, module_snapshot):
    home = tmp_path_factory.mktemp("page-home")
    # What `chatdapp devnet up` leaves in a home: the manifest (here pointing at the proxy).
    (home / "devnet.json").write_text(json.dumps({**manifest, "rpc_url": rpc_proxy.url}))
    port = free_port()
    log = home / "streamlit.log"
    proc = harness.start_page(port, {
        "CHATDAPP_HOME": str(home), "CHATDAPP_RPC_URL": rpc_proxy.url, "CHATDAPP_LLM": "fake", "HF_HUB_OFFLINE": "1",
    }, log)
    url = f"http://127.0.0.1:{port}"
    try:
        harness.wait_http(url + "/_stcore/health")
    except TimeoutError:
        harness.stop(proc)
        raise RuntimeError("streamlit did not start:\n" + log.read_text(errors="replace")[-4000:])
    yield {"url": url, "home": home}
    harness.stop(proc)
    if "Traceback" in (text := log.read_text(errors="replace")):
        print(text[-4000:])  # shown with a failing test's output


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=harness.chromium(), args=harness.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def wallet(devnet):
    return harness.FakeWallet(devnet.rpc_url)


@pytest.fixture(scope="module")
def page(browser, page_server, wallet):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.expose_function("__fakeWalletRpc", wallet)
    ctx.add_init_script(harness.FAKE_PROVIDER_JS)
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.goto(page_server["url"])
    yield pg
    ctx.close()
