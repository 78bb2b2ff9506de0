// The wallet bridge: runs inline in the page (no iframe), so it sees window.ethereum and
// EIP-6963 announcements. Python sends {wallet, requests:[{id, method, params}]} as `data`;
// this module answers each request id once and reports {wallet, responses} under one state key.
// Streamlit calls the default export again whenever `data` changes, so all long-lived
// things (discovered wallets, listeners, handled ids) live on one window-global object.
export default function (component) {
  const { data, setStateValue } = component;
  const B = (window.__chatdappBridge ||= {
    wallets: new Map(), // uuid -> {info, provider}
    handled: new Set(),
    responses: {}, // id -> {result} | {error:{code, message}}
    order: [],
    listening: null,
    state: { accounts: [], chainId: null },
    lastSent: "",
    started: false,
  });
  B.setState = setStateValue; // the newest mount reports
  B.want = (data && data.wallet) || null;

  const info = (w) => ({ uuid: w.info.uuid, name: w.info.name, rdns: w.info.rdns || "", icon: w.info.icon || "" });
  const chosen = () => {
    if (B.want && B.wallets.has(B.want)) return B.wallets.get(B.want);
    const first = B.wallets.values().next().value;
    if (first) return first;
    if (window.ethereum) return { info: { uuid: "injected", name: "Browser wallet", rdns: "" }, provider: window.ethereum };
    return null;
  };
  const report = () => {
    const w = chosen();
    const wallet = {
      available: !!w,
      wallets: [...B.wallets.values()].map(info),
      selected: w ? w.info.uuid : null,
      name: w ? w.info.name : null,
      accounts: B.state.accounts,
      chainId: B.state.chainId,
    };
    const payload = JSON.stringify({ wallet, responses: B.responses });
    if (payload === B.lastSent) return; // every report reruns the script: send only news
    B.lastSent = payload;
    B.setState("bridge", JSON.parse(payload)); // one key, so one rerun per report
  };
  const answer = (id, body) => {
    B.responses[id] = body;
    B.order.push(id);
    while (B.order.length > 20) delete B.responses[B.order.shift()];
    report();
  };
  const listen = () => {
    const w = chosen();
    if (!w || B.listening === w.provider) return;
    if (B.listening && B.listening.removeListener) {
      B.listening.removeListener("accountsChanged", B.onAccounts);
      B.listening.removeListener("chainChanged", B.onChain);
    }
    B.listening = w.provider;
    B.onAccounts = (accounts) => { B.state.accounts = accounts || []; report(); };
    B.onChain = (chainId) => { B.state.chainId = chainId; report(); };
    if (w.provider.on) {
      w.provider.on("accountsChanged", B.onAccounts);
      w.provider.on("chainChanged", B.onChain);
    }
    // Read what the wallet already allows without prompting.
    Promise.all([
      w.provider.request({ method: "eth_accounts" }).catch(() => []),
      w.provider.request({ method: "eth_chainId" }).catch(() => null),
    ]).then(([accounts, chainId]) => { B.state.accounts = accounts || []; B.state.chainId = chainId; report(); });
  };

  if (!B.started) {
    B.started = true;
    window.addEventListener("eip6963:announceProvider", (ev) => {
      const d = ev.detail || {};
      if (!d.info || !d.provider) return;
      B.wallets.set(d.info.uuid, { info: d.info, provider: d.provider });
      listen();
      report();
    });
    window.dispatchEvent(new Event("eip6963:requestProvider"));
  }
  listen();
  report();

  for (const req of (data && data.requests) || []) {
    if (B.handled.has(req.id)) continue;
    B.handled.add(req.id);
    const w = chosen();
    if (!w) { answer(req.id, { error: { code: -32000, message: "No wallet found in this browser." } }); continue; }
    w.provider.request({ method: req.method, params: req.params || [] }).then(
      (result) => {
        if (req.method === "eth_requestAccounts") B.state.accounts = result || [];
        if (req.method === "wallet_switchEthereumChain" || req.method === "wallet_addEthereumChain") {
          w.provider.request({ method: "eth_chainId" }).then((c) => { B.state.chainId = c; report(); }, () => {});
        }
        if (req.method === "wallet_revokePermissions") B.state.accounts = [];
        answer(req.id, { result: result === undefined ? null : result });
      },
      (err) => answer(req.id, { error: { code: (err && err.code) ?? -32603, message: String((err && err.message) || err) } }),
    );
  }
}
