// ethers v6 against the booster L2, unmodified: `contract.on("Voted", ...)` with the default
// JsonRpcProvider, which installs an eth_newFilter and polls eth_getFilterChanges on each new
// block (only its polling interval is shortened, from 4 s). Voting lives on L1; its events reach
// the L2 through L1CALL transactions.
//
//   node ethers_events.mjs --rpc URL --voting ADDR --key KEY --candidate N --count N [--timeout MS]
//
// Prints {"ready": ...} once the filter is installed and its own vote (an ethers Wallet sending
// through L1CALL) is mined; the test then sends its transactions; prints {"events": [...]} after
// `count` events (its own included) and exits.
import { load, options, report, run, until } from "./modules.mjs";

const { AbiCoder, Contract, Interface, JsonRpcProvider, Wallet } = load("ethers");
const L1CALL = "0x0000000000000000000000000000000000001001";
const ABI = ["event Voted(address indexed voter, uint256 indexed candidate, uint256 total)", "function vote(uint256 candidate)"];

run(async () => {
  const opt = options();
  const timeout = Number(opt.timeout || 30000);
  const provider = new JsonRpcProvider(opt.rpc, undefined, { pollingInterval: 100 });
  const methods = [];
  provider.on("debug", (info) => {
    if (info.action === "sendRpcPayload") for (const p of [].concat(info.payload)) methods.push(p.method);
  });
  const network = await provider.getNetwork();

  const contract = new Contract(opt.voting, ABI, provider);
  const events = [];
  await contract.on("Voted", (voter, candidate, total, payload) => {
    const log = payload.log;
    events.push({ voter, candidate, total, address: log.address, tx: log.transactionHash, block: log.blockNumber, index: log.index });
  });
  // eth_getFilterChanges follows the answer to eth_newFilter: the filter is in place
  await until(() => methods.includes("eth_getFilterChanges"), timeout, "ethers to install its filter");

  const wallet = new Wallet(opt.key, provider);
  const vote = new Interface(ABI).encodeFunctionData("vote", [BigInt(opt.candidate)]);
  const sent = await wallet.sendTransaction({ to: L1CALL, data: AbiCoder.defaultAbiCoder().encode(["address", "bytes"], [opt.voting, vote]) });
  const receipt = await sent.wait(1, timeout);
  report({ ready: true, chainId: network.chainId, sent: { hash: sent.hash, type: sent.type, block: receipt.blockNumber, status: receipt.status } });

  try {
    await until(() => events.length >= Number(opt.count), timeout, () => `${opt.count} Voted events (got ${events.length})`);
  } finally {
    await contract.removeAllListeners();
    report({ events, methods: [...new Set(methods)].sort() });
    provider.destroy();
  }
});
