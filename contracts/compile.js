// Compiles contracts/src/*.sol with solc-js (pinned in package.json) through standard JSON and
// writes contracts/artifacts/<Name>.json ({contractName, abi, bytecode, deployedBytecode}).
// Also copies the third-party artifacts the devnet deploys (Uniswap V2, WETH9, Multicall3) so
// Python never reads node_modules at run time. `--check` compares instead of writing.
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const ROOT = path.resolve(__dirname, "..");
const SRC = path.join(__dirname, "src");
const OUT = path.join(__dirname, "artifacts");
const NM = path.join(ROOT, "node_modules");
const EVM_VERSION = "cancun";

function findImport(p) {
  const file = path.join(NM, p);
  if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  return { error: "not found: " + p };
}

function compileOwn() {
  const sources = {};
  for (const f of fs.readdirSync(SRC).filter((f) => f.endsWith(".sol")).sort()) {
    sources[f] = { content: fs.readFileSync(path.join(SRC, f), "utf8") };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: 200 },
      metadata: { bytecodeHash: "none" },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "devdoc", "userdoc"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) {
    for (const e of errors) console.error(e.formattedMessage);
    process.exit(1);
  }
  const result = {};
  for (const f of Object.keys(sources)) {
    for (const [name, c] of Object.entries(out.contracts[f])) {
      result[name] = {
        contractName: name,
        sourceName: "contracts/src/" + f,
        compiler: "solc-js " + solc.version(),
        evmVersion: EVM_VERSION,
        abi: c.abi,
        bytecode: "0x" + c.evm.bytecode.object,
        deployedBytecode: "0x" + c.evm.deployedBytecode.object,
        devdoc: c.devdoc,
        userdoc: c.userdoc,
      };
    }
  }
  return result;
}

function thirdParty() {
  const result = {};
  const waffle = {
    UniswapV2Factory: "@uniswap/v2-core/build/UniswapV2Factory.json",
    UniswapV2Pair: "@uniswap/v2-core/build/UniswapV2Pair.json",
    UniswapV2Router02: "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    WETH9: "@uniswap/v2-periphery/build/WETH9.json",
  };
  for (const [name, rel] of Object.entries(waffle)) {
    const j = JSON.parse(fs.readFileSync(path.join(NM, rel), "utf8"));
    const pkg = rel.split("/build/")[0];
    const version = JSON.parse(fs.readFileSync(path.join(NM, pkg, "package.json"), "utf8")).version;
    result[name] = { contractName: name, sourceName: `${pkg}@${version}/${rel.split("/").slice(2).join("/")}`, abi: j.abi, bytecode: "0x" + j.bytecode.replace(/^0x/, "") };
  }
  const viem = require(path.join(NM, "viem/_cjs/constants/contracts.js"));
  const viemAbis = require(path.join(NM, "viem/_cjs/constants/abis.js"));
  const viemVersion = JSON.parse(fs.readFileSync(path.join(NM, "viem/package.json"), "utf8")).version;
  result.Multicall3 = { contractName: "Multicall3", sourceName: `viem@${viemVersion} multicall3Bytecode`, abi: viemAbis.multicall3Abi, bytecode: viem.multicall3Bytecode };
  return result;
}

const all = { ...compileOwn(), ...thirdParty() };
const check = process.argv.includes("--check");
let diff = 0;
if (!check) fs.mkdirSync(OUT, { recursive: true });
for (const [name, art] of Object.entries(all)) {
  const text = JSON.stringify(art, null, 1) + "\n";
  const file = path.join(OUT, name + ".json");
  if (check) {
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) { console.error("differs: " + name); diff++; }
  } else {
    fs.writeFileSync(file, text);
  }
}
console.log(JSON.stringify({ contracts: Object.keys(all).sort(), differ: diff }));
process.exit(diff ? 1 : 0);
