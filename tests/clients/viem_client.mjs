// viem 2 against the booster L2, unmodified, with the L2 as a viem custom chain (Multicall3 at
// its usual address, a predeploy of the L2).
//
//   node viem_client.mjs events --rpc URL --chain-id N --voting ADDR --key KEY --candidates 4,5,5 [--ws WS_URL] [--timeout MS]
//     createContractEventFilter (all Voted events, and only candidate 5's) read with
//     getFilterChanges, and watchContractEvent polling over HTTP (and, with --ws, subscribed
//     over WebSocket), while a viem wallet sends one vote per candidate through L1CALL.
//   node viem_client.mjs multicall --rpc URL --chain-id N --voting ADDR --accounts A,B
//     multicall of several reads (one failing) and the same reads one eth_call each, at one block.
//
// Prints one JSON object; the RPC methods each client sent are in it.
import { load, options, report, run, until } from "./modules.mjs";

const viem = load("viem");
const { privateKeyToAccount } = load("viem/accounts");
const { createPublicClient, createWalletClient, defineChain, encodeAbiParameters, encodeFunctionData, http, parseAbi, webSocket } = viem;

const L1CALL = "0x0000000000000000000000000000000000001001";
const MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11";
const VOTING = parseAbi([
  "event Voted(address indexed voter, uint256 indexed candidate, uint256 total)",
  "function vote(uint256 candidate)",
  "function votes(uint256 candidate) view returns (uint256)",
  "function noSuchFunction() view returns (uint256)",
]);
const MULTICALL3_ABI = parseAbi([
  "function getEthBalance(address account) view returns (uint256)",
  "function getChainId() view returns (uint256)",
]);

function l2Chain(opt) {
  const urls = { http: [opt.rpc], ...(opt.ws ? { webSocket: [opt.ws] } : {}) };
  return defineChain({
    id: Number(opt["chain-id"]),
    name: "booster L2",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: urls },
    contracts: { multicall3: { address: MULTICALL3, blockCreated: 0 } },
  });
}

/** An HTTP transport that notes each request's method (and target, for eth_call) in `log`. */
function recordingHttp(url, log) {
  return http(url, {
    async onFetchRequest(request) {
      for (const body of [].concat(await request.clone().json())) {
        log.push(body.method === "eth_call" ? `eth_call ${body.params[0].to.toLowerCase()}` : body.method);
      }
    },
  });
}

function plain(log) {
  return { voter: log.args.voter, candidate: log.args.candidate, total: log.args.total, address: log.address, tx: log.transactionHash, block: log.blockNumber };
}

async function events(opt) {
  const timeout = Number(opt.timeout || 30000);
  const chain = l2Chain(opt);
  const candidates = opt.candidates.split(",").map(BigInt);
  const methods = { filters: [], watch: [], wallet: [] };
  const client = createPublicClient({ chain, transport: recordingHttp(opt.rpc, methods.filters) });

  const all = await client.createContractEventFilter({ address: opt.voting, abi: VOTING, eventName: "Voted" });
  const fives = await client.createContractEventFilter({ address: opt.voting, abi: VOTING, eventName: "Voted", args: { candidate: 5n } });

  const watched = [];
  const watcher = createPublicClient({ chain, transport: recordingHttp(opt.rpc, methods.watch), pollingInterval: 100 });
  const unwatch = watcher.watchContractEvent({
    address: opt.voting, abi: VOTING, eventName: "Voted", poll: true,
    onLogs: (logs) => watched.push(...logs.map(plain)),
    onError: (error) => watched.push({ error: String(error.stack || error) }),
  });
  // its first poll installs the filter; the next asks for changes
  await until(() => methods.watch.includes("eth_getFilterChanges"), timeout, "watchContractEvent to install its filter");

  let ws = null;
  if (opt.ws) {
    ws = { client: createPublicClient({ chain, transport: webSocket(opt.ws) }), watched: [] };
    ws.unwatch = ws.client.watchContractEvent({
      address: opt.voting, abi: VOTING, eventName: "Voted",
      onLogs: (logs) => ws.watched.push(...logs.map(plain)),
      onError: (error) => ws.watched.push({ error: String(error.stack || error) }),
    });
    const socket = await ws.client.transport.getRpcClient();
    await until(() => socket.subscriptions.size > 0, timeout, "watchContractEvent to subscribe over WebSocket");
  }

  const account = privateKeyToAccount(opt.key);
  const wallet = createWalletClient({ account, chain, transport: recordingHttp(opt.rpc, methods.wallet) });
  const sent = [];
  for (const candidate of candidates) {
    const vote = encodeFunctionData({ abi: VOTING, functionName: "vote", args: [candidate] });
    const hash = await wallet.sendTransaction({ to: L1CALL, data: encodeAbiParameters([{ type: "address" }, { type: "bytes" }], [opt.voting, vote]) });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout });
    sent.push({ hash, status: receipt.status, block: receipt.blockNumber });
  }

  const changes = (await client.getFilterChanges({ filter: all })).map(plain);
  const changesOfFives = (await client.getFilterChanges({ filter: fives })).map(plain);
  const again = await client.getFilterChanges({ filter: all });
  const uninstalled = [await client.uninstallFilter({ filter: all }), await client.uninstallFilter({ filter: fives })];

  const enough = (list) => list.length >= candidates.length || list.some((entry) => entry.error);
  try {
    await until(() => enough(watched), timeout, `watchContractEvent over HTTP to see ${candidates.length} events`);
    if (ws) await until(() => enough(ws.watched), timeout, `watchContractEvent over WebSocket to see ${candidates.length} events`);
  } finally {
    unwatch();
    if (ws) ws.unwatch();
  }
  if (ws) await (await ws.client.transport.getRpcClient()).close();
  report({
    sender: account.address, sent, changes, changesOfFives, again, uninstalled, watched,
    wsWatched: ws ? ws.watched : null,
    methods: Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, [...new Set(v)].sort()])),
  });
}

async function multicall(opt) {
  const chain = l2Chain(opt);
  const sentCalls = [];
  const client = createPublicClient({ chain, transport: recordingHttp(opt.rpc, sentCalls) });
  const accounts = opt.accounts.split(",");
  const contracts = [
    { address: opt.voting, abi: VOTING, functionName: "votes", args: [1n] },
    { address: opt.voting, abi: VOTING, functionName: "votes", args: [2n] },
    { address: MULTICALL3, abi: MULTICALL3_ABI, functionName: "getChainId" },
    ...accounts.map((a) => ({ address: MULTICALL3, abi: MULTICALL3_ABI, functionName: "getEthBalance", args: [a] })),
    { address: opt.voting, abi: VOTING, functionName: "noSuchFunction" },
  ];
  const blockNumber = await client.getBlockNumber();
  const before = sentCalls.length;
  const together = await client.multicall({ contracts, blockNumber, allowFailure: true });
  const multicallRequests = sentCalls.slice(before);
  const oneByOne = [];
  for (const c of contracts) {
    try {
      oneByOne.push({ status: "success", result: await client.readContract({ ...c, blockNumber }) });
    } catch (error) {
      oneByOne.push({ status: "failure", error: error.name });
    }
  }
  report({
    blockNumber,
    multicall: together.map((r) => (r.status === "success" ? { status: r.status, result: r.result } : { status: r.status, error: r.error.name })),
    oneByOne,
    multicallRequests,
  });
}

run(async () => {
  const [command, ...rest] = process.argv.slice(2);
  const commands = { events, multicall };
  if (!commands[command]) throw new Error(`usage: viem_client.mjs events|multicall --name value ...; got ${JSON.stringify(command)}`);
  await commands[command](options(rest));
});
