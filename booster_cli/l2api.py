"""The L2 node's JSON-RPC methods: the ``eth_*`` methods that wallets, web3.py and Foundry's cast
use (answered as geth and anvil answer them), and the ``booster_*`` namespace the CLI uses.

Blocks are the canonical L2 chain; ``pending``, ``safe`` and ``finalized`` mean the head (there is
no pending block: transactions wait in the queue, and the L2 has no finality of its own). Every
bad parameter is a JSON-RPC error -32602 with a readable message.

``eth_call`` / ``eth_estimateGas`` honour their block parameter: a past block's L2 state answers,
unless the call reaches an L1 precompile, which is then an error (the L1 view is kept only for
the head; see ``_run``). Their third parameter is geth's state override set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth.exceptions import HeaderNotFound, InsufficientFunds
from eth_utils import to_checksum_address

from . import __version__
from .abi import decode_revert
from .callstate import AccountOverride
from .errors import RpcError
from .executor import ASK_UNDER_LOCK, L2_GAS_LIMIT
from .devmethods import dev_methods
from .filters import filter_methods
from .l2format import LogFilter, block_count, fee_history, format_block, format_tx, hx, percentiles

MAX_FEE_HISTORY = 1024  # blocks per eth_feeHistory, as geth
MAX_LOG_RANGE = 100_000  # blocks per eth_getLogs query
LOG_CHUNK = 1_000  # blocks scanned per hold of the executor lock (~50 ms)
TAGS = ("latest", "pending", "safe", "finalized", "earliest")

if TYPE_CHECKING:
    from .node import Node
    from .tracing import Tracer


def _hex(value: Any, what: str) -> bytes:
    try:
        if isinstance(value, str) and value.startswith("0x"):
            return bytes.fromhex(value[2:])
    except ValueError:
        pass
    raise RpcError(f"invalid {what} {value!r}: expected 0x-prefixed hex", -32602)


def _address(value: Any) -> bytes:
    raw = _hex(value, "address")
    if len(raw) != 20:
        raise RpcError(f"invalid address {value!r}: expected 0x followed by 40 hex digits", -32602)
    return raw


def _hash(value: Any, what: str = "hash") -> bytes:
    raw = _hex(value, what)
    if len(raw) != 32:
        raise RpcError(f"invalid {what} {value!r}: expected 0x followed by 64 hex digits", -32602)
    return raw


def _data(value: Any) -> bytes:
    return b"" if value in (None, "") else _hex(value, "data")


def _qty(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**256:
        return value
    try:
        if isinstance(value, str) and value.startswith("0x") and value[2:].strip() == value[2:]:
            number = int(value, 16)
            if number < 2**256:
                return number
    except ValueError:
        pass
    raise RpcError(f"invalid quantity {value!r}: expected 0x-prefixed hex below 2**256", -32602)


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise RpcError(f"invalid {what} {value!r}: expected true or false", -32602)
    return value


def _block_param(value: Any, hash_string: bool = False) -> str | int | bytes:
    """A block parameter: a tag, a 0x block number, or an EIP-1898 object ``{"blockHash"}`` /
    ``{"blockNumber"}``; a tag stays a string, a hash is bytes. ``hash_string``: where geth takes
    a block number or hash, a bare 0x string of 64 hex digits is a block hash (web3.py sends
    one so)."""
    if value is None:
        return "latest"
    if isinstance(value, str) and value in TAGS:
        return value
    if isinstance(value, dict) and "blockHash" in value:
        if "blockNumber" in value:
            raise RpcError("invalid block: give blockHash or blockNumber, not both", -32602)
        if value.get("requireCanonical") is not None:
            _bool(value["requireCanonical"], "requireCanonical")  # only canonical blocks are known anyway
        return _hash(value["blockHash"], "block hash")
    if isinstance(value, dict) and isinstance(value.get("blockNumber"), str):
        return _block_param(value["blockNumber"])
    if isinstance(value, str) and value.startswith("0x"):
        return _hash(value, "block hash") if hash_string and len(value) == 66 else _qty(value)
    raise RpcError(f"invalid block {value!r}: expected {', '.join(TAGS)}, a 0x block number or {{\"blockHash\": …}}", -32602)


OVERRIDE_FIELDS = ("balance", "nonce", "code", "state", "stateDiff")


def _slots(value: Any, what: str) -> dict[int, int]:
    if not isinstance(value, dict):
        raise RpcError(f"invalid {what}: expected an object of 32-byte slot → 32-byte value", -32602)
    return {int.from_bytes(_hash(k, "storage slot"), "big"): int.from_bytes(_hash(v, "storage value"), "big") for k, v in value.items()}


def _state_overrides(value: Any) -> dict[bytes, AccountOverride]:
    """eth_call's third parameter, geth's state override set: address → ``balance``, ``nonce``,
    ``code``, ``state`` (the whole storage, replaced) or ``stateDiff`` (slots patched); null
    fields are left alone. Unknown fields are refused rather than ignored, and so is geth's
    ``movePrecompileToAddress`` (not supported)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RpcError("invalid state overrides: expected an object of address → account override", -32602)
    accounts: dict[bytes, AccountOverride] = {}
    for key, account in value.items():
        address = _address(key)
        if address in accounts:
            raise RpcError(f"invalid state overrides: {key} is given twice", -32602)
        if account is None:
            account = {}
        if not isinstance(account, dict):
            raise RpcError(f"invalid state override for {key}: expected an object with {', '.join(OVERRIDE_FIELDS)}", -32602)
        if account.get("movePrecompileToAddress") is not None:
            raise RpcError("movePrecompileToAddress is not supported by the booster L2's state overrides", -32602)
        unknown = sorted(set(account) - {*OVERRIDE_FIELDS, "movePrecompileToAddress"})
        if unknown:
            raise RpcError(f"invalid state override for {key}: unknown field {unknown[0]!r} (expected {', '.join(OVERRIDE_FIELDS)})", -32602)
        if account.get("state") is not None and account.get("stateDiff") is not None:
            raise RpcError(f"account {to_checksum_address(address)} has both 'state' and 'stateDiff'", -32602)
        nonce = None if account.get("nonce") is None else _qty(account["nonce"])
        if nonce is not None and nonce >= 2**64:
            raise RpcError(f"invalid nonce override for {key}: at most 2**64-1", -32602)
        accounts[address] = AccountOverride(
            balance=None if account.get("balance") is None else _qty(account["balance"]),
            nonce=nonce,
            code=None if account.get("code") is None else _hex(account["code"], "code"),
            state=None if account.get("state") is None else _slots(account["state"], "state"),
            state_diff=None if account.get("stateDiff") is None else _slots(account["stateDiff"], "stateDiff"),
        )
    return accounts


def _no_block_overrides(value: Any) -> None:
    """eth_call's fourth parameter (geth's block overrides): only an empty one is accepted."""
    if value is not None and value != {}:
        raise RpcError("block overrides (the fourth parameter) are not supported by the booster L2", -32602)


class ExecutionReverted(RpcError):
    def __init__(self, output: bytes, reason: str) -> None:
        super().__init__(f"execution reverted: {reason}", 3, "0x" + output.hex())


def _intrinsic(data: bytes, creates: bool, access_list: dict | None = None) -> tuple[int, int]:
    """A call object's intrinsic gas (base, calldata, creation, access list: address → slots)
    and its EIP-7623 calldata floor, as a transaction carrying it would pay them."""
    zeros = data.count(0)
    tokens = zeros + 4 * (len(data) - zeros)
    intrinsic = 21_000 + 4 * tokens
    if creates:
        intrinsic += 32_000 + 2 * ((len(data) + 31) // 32)
    if access_list:
        intrinsic += 2_400 * len(access_list) + 1_900 * sum(len(slots) for slots in access_list.values())
    return intrinsic, 21_000 + 10 * tokens


def _call_fields(tx: Any) -> tuple[bytes, bytes | None, bytes, int, int]:
    """A call object's sender (zero if absent), recipient (None: creation), data, value, gas."""
    if not isinstance(tx, dict):
        raise RpcError("call object must be a JSON object", -32602)
    sender = _address(tx["from"]) if tx.get("from") else b"\x00" * 20
    to = _address(tx["to"]) if tx.get("to") else None
    data = _data(tx.get("data") or tx.get("input"))
    return sender, to, data, _qty(tx.get("value")), _qty(tx.get("gas"), L2_GAS_LIMIT)


def _tracer(options: Any) -> "Tracer":
    """geth's trace options: ``tracer`` (callTracer, prestateTracer, none: the struct logger),
    ``tracerConfig``, and the struct logger's switches."""
    from .tracing import TRACERS, Tracer

    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise RpcError("trace options must be a JSON object", -32602)
    kind = options.get("tracer") or ""
    if kind and kind not in TRACERS:
        raise RpcError(f"unsupported tracer {kind!r}: booster has {', '.join(TRACERS)} and the default struct logger", -32602)
    config = options.get("tracerConfig") or {}
    if not isinstance(config, dict):
        raise RpcError("tracerConfig must be a JSON object", -32602)
    return Tracer(kind, config, options)


def _no_notifications(*params: Any) -> None:
    raise RpcError("notifications not supported: eth_subscribe needs a WebSocket connection (ws:// on the same port)", -32601)


def methods(node: "Node") -> dict:
    ex = node.executor

    def chain_id() -> str:
        return hex(ex.l2_chain_id)

    def block_number() -> str:
        return hex(ex.published_head)  # without ex.lock: the newest committed block

    # -- blocks: call these under ex.lock --
    def number_of(param: Any, hash_string: bool = False) -> int | None:
        """The canonical block number a block parameter names; None if there is no such block."""
        ref = _block_param(param, hash_string)
        head = ex.head().block_number
        if ref == "earliest":
            return 0
        if isinstance(ref, str):
            return head
        if isinstance(ref, bytes):
            try:
                number = ex.chain.get_block_header_by_hash(ref).block_number
                return number if ex.chain.get_canonical_block_hash(number) == ref else None
            except HeaderNotFound:
                return None
        return ref if ref <= head else None

    def known_number(param: Any) -> int:
        """``number_of`` where geth takes a block number or hash (state reads, eth_call), with an
        unknown block an error as geth's ("header not found")."""
        number = number_of(param, hash_string=True)
        if number is None:
            raise RpcError(f"header not found: no L2 block {param!r} (the head is {hex(ex.head().block_number)})", -32000)
        return number

    def state_at(param: Any):
        number = known_number(param)
        if number == ex.head().block_number:
            return ex.chain.get_vm().state
        return ex.chain.get_vm(ex.chain.get_canonical_block_header_by_number(number)).state

    def sender_of(tx: Any) -> bytes:
        rec = ex.txs.get(tx.hash)
        return rec.sender if rec is not None and rec.sender else tx.sender

    def block_json(number: int | None, full: bool) -> dict | None:
        return None if number is None else format_block(ex.chain.get_canonical_block_by_number(number), full, sender_of)

    def block_receipts(number: int) -> list[dict]:
        return [ex.receipt(tx.hash) for tx in ex.chain.get_canonical_block_by_number(number).transactions]

    # -- state --
    def get_transaction_count(address: str, block: Any = "latest") -> str:
        addr = _address(address)
        if block == "pending":
            return hex(ex.pending_nonce(addr))
        with ex.lock:
            return hex(state_at(block).get_nonce(addr))

    def get_balance(address: str, block: Any = "latest") -> str:
        addr = _address(address)
        with ex.lock:
            return hex(state_at(block).get_balance(addr))

    def get_storage_at(address: str, slot: str, block: Any = "latest") -> str:
        addr, key = _address(address), _qty(slot)  # _qty: below 2**256
        with ex.lock:
            value = state_at(block).get_storage(addr, key)
        return "0x" + value.to_bytes(32, "big").hex()

    def get_code(address: str, block: Any = "latest") -> str:
        addr = _address(address)
        with ex.lock:
            return hx(state_at(block).get_code(addr))

    def get_proof(address: str, keys: Any, block: Any = "latest") -> dict:
        """eth_getProof of an L2 account (EIP-1186): its account and storage proofs from the
        block's state root, as anvil answers them (32-byte keys; shorter hex keys are taken as
        geth takes them). The L1's accounts have anvil's own eth_getProof."""
        import rlp
        from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
        from eth_utils import keccak
        from trie import HexaryTrie

        addr = _address(address)
        if not isinstance(keys, list):
            raise RpcError("storage keys must be a list of 32-byte hex strings", -32602)
        slots = [_qty(k) for k in keys]  # _qty: a hex number below 2**256
        with ex.lock:
            db = ex.chain.chaindb.db
            accounts = HexaryTrie(db, ex.chain.get_canonical_block_header_by_number(known_number(block)).state_root)
            encoded = accounts.get(keccak(addr))
            nonce, balance, storage_root, code_hash = rlp.decode(encoded) if encoded else (b"", b"", BLANK_ROOT_HASH, EMPTY_SHA3)
            storage = HexaryTrie(db, storage_root)
            storage_proof = []
            for slot in slots:
                key = keccak(slot.to_bytes(32, "big"))
                value = storage.get(key)
                storage_proof.append({
                    "key": "0x" + slot.to_bytes(32, "big").hex(),
                    "value": hex(int.from_bytes(rlp.decode(value), "big")) if value else "0x0",
                    "proof": [hx(rlp.encode(node)) for node in storage.get_proof(key)],
                })
            return {
                "address": to_checksum_address(addr),
                "balance": hex(int.from_bytes(balance, "big")),
                "codeHash": hx(code_hash),
                "nonce": hex(int.from_bytes(nonce, "big")),
                "storageHash": hx(storage_root),
                "accountProof": [hx(rlp.encode(node)) for node in accounts.get_proof(keccak(addr))],
                "storageProof": storage_proof,
            }

    def send_raw_transaction(raw: str) -> str:
        return "0x" + ex.submit(_data(raw)).hex()

    def accounts() -> list[str]:
        """The ten dev accounts (anvil's mnemonic), lower-case as anvil lists them."""
        from .accounts import DEV_ADDRESSES

        return [a.lower() for a in DEV_ADDRESSES]

    def send_transaction(tx: dict) -> str:
        """anvil's eth_sendTransaction from a dev account: the node signs an EIP-1559 transaction
        (nonce: the sender's pending one; gas: estimated; fees: the next block's base fee twice
        plus the tip, or ``gasPrice`` for both) and takes it as eth_sendRawTransaction would.
        An impersonated sender (anvil_impersonateAccount, devmethods.py) has no key: a stand-in
        key signs and the sender is recorded with the transaction (Executor.submit_impersonated).
        Another sender is refused as anvil refuses it ("No Signer available")."""
        from .accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
        from .devstate import impersonation_key
        from .txsign import sign_eip1559

        if not isinstance(tx, dict) or not tx.get("from"):
            raise RpcError("a transaction object with from is required", -32602)
        sender = _address(tx["from"])
        keys = {bytes.fromhex(a[2:]): k for a, k in zip(DEV_ADDRESSES, DEV_PRIVATE_KEYS)}
        impersonated = sender not in keys and (ex.auto_impersonate or sender in ex.impersonating)
        if sender not in keys and not impersonated:
            raise RpcError("No Signer available", -32602)
        to = tx.get("to")
        data = _data(tx.get("data") or tx.get("input"))
        nonce = _qty(tx["nonce"]) if tx.get("nonce") is not None else ex.pending_nonce(sender)
        gas = _qty(tx["gas"]) if tx.get("gas") is not None else int(estimate_gas({k: v for k, v in tx.items() if k != "gas"}), 16)
        if tx.get("gasPrice") is not None:
            max_fee = tip = _qty(tx["gasPrice"])
        else:
            tip = _qty(tx["maxPriorityFeePerGas"]) if tx.get("maxPriorityFeePerGas") is not None else int(max_priority_fee(), 16)
            with ex.lock:
                base = ex.chain.header.base_fee_per_gas
            max_fee = _qty(tx["maxFeePerGas"]) if tx.get("maxFeePerGas") is not None else 2 * base + tip
        key = impersonation_key(sender) if impersonated else keys[sender]
        raw, _ = sign_eip1559(key, chain_id=ex.l2_chain_id, nonce=nonce, to="0x" + _address(to).hex() if to else None, data=data,
                              gas=gas, max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip, value=_qty(tx.get("value")))
        return "0x" + (ex.submit_impersonated(raw, sender) if impersonated else ex.submit(raw)).hex()

    # -- transactions --
    def get_transaction(tx_hash: str) -> dict | None:
        """A mined transaction with its block, or a pending one (accepted, not in a block yet)."""
        key = _hash(tx_hash, "transaction hash")
        with ex.lock:
            rec = ex.txs.get(key)
            if rec is None or rec.dropped:
                return None
            if rec.block_number < 0:
                return format_tx(rec.tx, rec.sender)
            return tx_in_block(rec.block_number, rec.index)

    def tx_in_block(number: int | None, position: int) -> dict | None:
        if number is None:
            return None
        block = ex.chain.get_canonical_block_by_number(number)
        if position >= len(block.transactions):
            return None
        tx = block.transactions[position]
        return format_tx(tx, sender_of(tx), block.header, position)

    def tx_by_block_and_index(block: Any, index: Any) -> dict | None:
        position = _qty(index)
        with ex.lock:
            return tx_in_block(number_of(block), position)

    def get_receipt(tx_hash: str) -> dict | None:
        key = _data(tx_hash)
        answer = ex.published_receipt(key)  # without waiting for a block being built
        if answer is not ASK_UNDER_LOCK:
            return answer
        with ex.lock:  # dropped (said once that block is committed), or being rebased: after it
            rec = ex.txs.get(key)
            if rec is None:
                return None
            if rec.dropped:
                raise RpcError(f"transaction {tx_hash} was dropped: {rec.dropped}", -32003)
            return ex.receipt(key)

    def past_header(block: Any) -> Any:
        """None for the head (a tag but "earliest", or the head's number or hash), else the past
        canonical block's header; under ex.lock."""
        if block is None or (isinstance(block, str) and block in TAGS and block != "earliest"):
            return None
        number = known_number(block)
        return None if number == ex.head().block_number else ex.chain.get_canonical_block_header_by_number(number)

    def _run(tx: dict, block: Any = "latest", accounts: dict | None = None, what: str = "eth_call", access: dict | None = None) -> tuple[bytes, int]:
        """Run the call object ``tx`` at ``block`` with the parsed state overrides ``accounts``.

        The block parameter is honoured, never answered from another block: the head (by tag,
        number or hash) runs on the head state with the L1 view as always; a past canonical block
        runs on its own L2 state and block context (as geth does), and is refused (-32000) once
        the call reaches an L1 precompile, since the L1 view (anchor and pending delta) is kept
        only for the head; an unknown block is geth's "header not found" (see Executor.call).
        Refusing every past block would have been simpler, but wallets and indexers ask for
        pinned blocks of plain L2 contracts, and those answers are exact. The head keeps the
        block context it always had, the next block's (NUMBER is the head's + 1; geth and anvil
        give the head's own): what a transaction sent now would see."""
        sender, to, data, value, gas = _call_fields(tx)
        with ex.lock:
            at = past_header(block)
            try:
                ok, output, error, gas_used = ex.call(sender, to, data, value, gas, at=at, overrides=accounts, what=what, access=access)
            except InsufficientFunds as exc:
                raise RpcError(f"insufficient L2 funds: {exc}", -32003) from None
        if not ok:
            raise ExecutionReverted(output, decode_revert(output) if output else error)
        return output, gas_used

    def call(tx: dict, block: Any = "latest", overrides: Any = None, block_overrides: Any = None) -> str:
        """geth's eth_call: the block parameter as ``_run`` says, state overrides as geth's
        (``_state_overrides``), block overrides refused unless empty."""
        accounts = _state_overrides(overrides)
        _no_block_overrides(block_overrides)
        return "0x" + _run(tx, block, accounts)[0].hex()

    def create_access_list(tx: dict, block: Any = "latest", overrides: Any = None) -> dict:
        """geth's eth_createAccessList: the L2 accounts and storage slots the call looks at (but
        its sender, its target unless it reads the target's storage, and precompiles; lower-case
        addresses, as anvil gives them), found by
        running it with the list so far until the list no longer changes, and the gas the
        transaction would use with it (intrinsic gas and the list's cost included, the refund
        taken off, the calldata floor applied). A call that reverts is refused with its revert
        data, as anvil refuses it (geth answers the list with ``error``). The L1 slots an L1CALL
        reads are not in it: they live in the L1 context, not in L2 state."""
        from .l2vm import BoosterComputation

        if not isinstance(tx, dict):
            raise RpcError("call object must be a JSON object", -32602)
        accounts = _state_overrides(overrides)
        sender = _address(tx["from"]) if tx.get("from") else b"\x00" * 20
        to = _address(tx["to"]) if tx.get("to") else None
        given = tx.get("accessList") or []
        if not isinstance(given, list):
            raise RpcError("accessList must be a list", -32602)
        listed = {_address(e["address"]): {_qty(k) for k in e.get("storageKeys", [])} for e in given}
        excluded = {sender, *([to] if to else []), *BoosterComputation._precompiles}
        for _ in range(8):  # geth stops when the list is stable
            access = {"list": listed}
            _, used = _run(tx, block, accounts, "eth_createAccessList", access)  # a revert is refused, as anvil refuses it
            found = {a: slots for a, slots in access.get("touched", {}).items() if slots or a not in excluded}
            if found == listed:
                break
            listed = found
        entries = [{"address": "0x" + a.hex(), "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in sorted(slots)]}
                   for a, slots in listed.items()]
        intrinsic, floor = _intrinsic(_data(tx.get("data") or tx.get("input")), to is None, listed)
        total = intrinsic + used
        total -= min(access.get("refund", 0), total // 5)
        return {"accessList": entries, "gasUsed": hex(max(total, floor))}

    def estimate_gas(tx: dict, block: Any = "latest", overrides: Any = None, block_overrides: Any = None) -> str:
        """The lowest gas limit with which the transaction does not fail: intrinsic gas (EIP-7623
        floor included) plus the execution's gas, checked, then searched upwards if the 63/64
        rule or a stipend needs more than was used. Block and overrides as eth_call's."""
        if not isinstance(tx, dict):
            raise RpcError("call object must be a JSON object", -32602)
        accounts = _state_overrides(overrides)
        _no_block_overrides(block_overrides)
        intrinsic, floor = _intrinsic(_data(tx.get("data") or tx.get("input")), not tx.get("to"))
        cap = min(_qty(tx.get("gas"), L2_GAS_LIMIT), L2_GAS_LIMIT)
        used = _run({**tx, "gas": hex(cap - intrinsic)}, block, accounts, "eth_estimateGas")[1]  # raises if it fails even with all the gas

        def fits(limit: int) -> bool:
            try:
                _run({**tx, "gas": hex(limit - intrinsic)}, block, accounts, "eth_estimateGas")
                return True
            except ExecutionReverted:
                return False

        low = intrinsic + used
        if not fits(low):
            high = cap
            while high - low > 1_000:
                mid = (low + high) // 2
                low, high = (low, mid) if fits(mid) else (mid, high)
            low = high
        return hex(max(low, floor))

    def trace_transaction(tx_hash: str, options: Any = None) -> Any:
        """geth's debug_traceTransaction, with L1 frames (tracing.py, tracerun.py)."""
        from .tracerun import trace_transaction as trace

        tracer = _tracer(options)
        return trace(ex, _hash(tx_hash), tracer)

    def trace_block(param: Any, options: Any = None) -> list[dict]:
        """geth's debug_traceBlockByNumber / ByHash: each transaction's trace, in order."""
        from .tracerun import trace_transaction as trace

        with ex.lock:
            number = known_number(param)
            header = ex.chain.get_canonical_block_header_by_number(number)
            hashes = ex.chain.chaindb.get_block_transaction_hashes(header)
            return [{"txHash": "0x" + h.hex(), "result": trace(ex, h, _tracer(options))} for h in hashes]

    def trace_call(tx: dict, block: Any = "latest", options: Any = None) -> Any:
        """geth's debug_traceCall: the call as eth_call runs it at ``block`` (with the options'
        ``stateOverrides``), traced."""
        from .tracerun import trace_call as trace

        tracer = _tracer(options)
        sender, to, data, value, gas = _call_fields(tx)
        accounts = _state_overrides((options or {}).get("stateOverrides"))
        intrinsic = _intrinsic(data, to is None)[0]
        with ex.lock:
            try:
                return trace(ex, tracer, sender, to, data, value, gas, past_header(block), accounts, intrinsic)
            except InsufficientFunds as exc:
                raise RpcError(f"insufficient L2 funds: {exc}", -32003) from None

    def gas_price() -> str:
        return hex(ex.chain.header.base_fee_per_gas + 1_000_000)

    def max_priority_fee() -> str:
        return hex(1_000_000)

    # -- blocks --
    def get_block_by_number(tag: Any, full: bool = False) -> dict | None:
        if not isinstance(tag, str):
            raise RpcError(f"invalid block {tag!r}: expected {', '.join(TAGS)} or a 0x block number", -32602)
        _bool(full, "full transactions flag")
        with ex.lock:
            return block_json(number_of(tag), full)

    def get_block_by_hash(block_hash: str, full: bool = False) -> dict | None:
        _bool(full, "full transactions flag")
        with ex.lock:
            return block_json(number_of({"blockHash": block_hash}), full)

    def tx_count(param: Any) -> str | None:
        with ex.lock:
            number = number_of(param)
            return None if number is None else hex(len(ex.chain.get_canonical_block_by_number(number).transactions))

    def get_block_receipts(param: Any) -> list | None:
        with ex.lock:
            number = number_of(param)
            return None if number is None else block_receipts(number)

    def get_fee_history(count_param: Any, newest: Any, reward_percentiles: Any = None) -> dict:
        count = min(block_count(count_param), MAX_FEE_HISTORY)
        pcts = percentiles(reward_percentiles)
        with ex.lock:
            head = ex.head().block_number
            last = number_of(newest)
            if last is None:
                raise RpcError(f"newest block {newest!r} is beyond the head block {hex(head)}", -32602)
            numbers = range(max(0, last - count + 1), last + 1 if count else 0)
            headers = [ex.chain.get_canonical_block_header_by_number(n) for n in numbers]
            following = ex.chain.header if last == head else ex.chain.get_canonical_block_header_by_number(last + 1)
            return fee_history(headers, following, [block_receipts(n) for n in numbers] if pcts else None, pcts)

    def log_range(criteria: dict) -> tuple[int, int]:
        """The blocks a log filter covers (``last < first``: none); under ex.lock."""
        head = ex.head().block_number
        if criteria.get("blockHash") is not None:
            if criteria.get("fromBlock") is not None or criteria.get("toBlock") is not None:
                raise RpcError("a log filter takes either blockHash or fromBlock/toBlock, not both", -32602)
            number = number_of({"blockHash": criteria["blockHash"]})
            if number is None:
                raise RpcError(f"unknown block {criteria['blockHash']}", -32000)
            return number, number
        ends = []
        for key in ("fromBlock", "toBlock"):
            ref = _block_param(criteria.get(key))
            if isinstance(ref, bytes):
                raise RpcError(f"invalid {key}: a block number or tag, not a block hash (use blockHash)", -32602)
            ends.append(0 if ref == "earliest" else min(ref, head + 1) if isinstance(ref, int) else head)
        first, last = ends
        if first > last and first <= head:
            raise RpcError(f"invalid block range: fromBlock {hex(first)} is after toBlock {hex(last)}", -32602)
        if min(last, head) - first >= MAX_LOG_RANGE:
            raise RpcError(f"block range too large: at most {MAX_LOG_RANGE} blocks per eth_getLogs query", -32005)
        return first, min(last, head)

    def get_logs(criteria: Any) -> list[dict]:
        """Logs exactly as the receipts hold them, in chain order. Blocks whose bloom rules out
        every match are skipped unread; the lock is taken per chunk of blocks, so a long range
        does not stall block production (the last block's hash shows whether a rebase
        replaced blocks meanwhile)."""
        if not isinstance(criteria, dict):
            raise RpcError("the log filter must be a JSON object", -32602)
        wanted = LogFilter.parse(criteria)
        with ex.lock:
            first, last = log_range(criteria)
        logs = scan_logs(wanted, first, last)
        if logs is None:
            raise RpcError("the L2 blocks in this range were replaced (rebase) during the query: ask again", -32000)
        return logs

    def scan_logs(wanted: LogFilter, first: int, last: int) -> list[dict] | None:
        """The logs of canonical blocks ``first``..``last`` that ``wanted`` matches; None if a
        rebase replaced those blocks meanwhile."""
        with ex.lock:
            tip = ex.chain.get_canonical_block_hash(last) if last >= first else None
        logs: list[dict] = []
        for start in range(first, last + 1, LOG_CHUNK):
            with ex.lock:
                for number in range(start, min(start + LOG_CHUNK, last + 1)):
                    if wanted.may_match(ex.chain.get_canonical_block_header_by_number(number).bloom):
                        logs += [dict(log) for r in block_receipts(number) for log in r["logs"] if wanted.matches(log)]
        with ex.lock:
            if tip is not None and ex.chain.get_canonical_block_hash(last) != tip:
                return None
        return logs

    return {
        "eth_chainId": chain_id,
        "net_version": lambda: str(ex.l2_chain_id),
        "web3_clientVersion": lambda: f"booster/{__version__}/py-evm",
        "eth_blockNumber": block_number,
        "eth_getTransactionCount": get_transaction_count,
        "eth_getBalance": get_balance,
        "eth_getStorageAt": get_storage_at,
        "eth_getCode": get_code,
        "eth_getProof": get_proof,
        "eth_sendRawTransaction": send_raw_transaction,
        "eth_getTransactionReceipt": get_receipt,
        "eth_call": call,
        "eth_estimateGas": estimate_gas,
        "eth_createAccessList": create_access_list,
        "debug_traceTransaction": trace_transaction,
        "debug_traceCall": trace_call,
        "debug_traceBlockByNumber": trace_block,
        "debug_traceBlockByHash": lambda block_hash, options=None: trace_block({"blockHash": block_hash}, options),
        "eth_gasPrice": gas_price,
        "eth_maxPriorityFeePerGas": max_priority_fee,
        "eth_getBlockByNumber": get_block_by_number,
        "eth_getBlockByHash": get_block_by_hash,
        "eth_getBlockTransactionCountByNumber": tx_count,
        "eth_getBlockTransactionCountByHash": lambda block_hash: tx_count({"blockHash": block_hash}),
        "eth_getBlockReceipts": get_block_receipts,
        "eth_getTransactionByHash": get_transaction,
        "eth_getTransactionByBlockNumberAndIndex": tx_by_block_and_index,
        "eth_getTransactionByBlockHashAndIndex": lambda block_hash, index: tx_by_block_and_index({"blockHash": block_hash}, index),
        "eth_feeHistory": get_fee_history,
        "eth_getLogs": get_logs,
        **filter_methods(ex, get_logs, scan_logs, _block_param),
        # over a WebSocket the RPC front answers these (wsfront.py); over HTTP, geth's refusal
        "eth_subscribe": _no_notifications,
        "eth_unsubscribe": _no_notifications,
        **dev_methods(node),
        "eth_syncing": lambda: False,
        "eth_accounts": accounts,
        "eth_sendTransaction": send_transaction,
        "net_listening": lambda: True,
        "booster_status": node.status,
        "booster_getDelta": node.delta,
        "booster_getNonces": node.nonces,
        "booster_settle": node.settle,
        "booster_prove": node.prove,
        "booster_report": node.report,
        "booster_registerContract": node.register_contract,
        "booster_getContract": node.contract,
        "booster_getTransaction": node.transaction,
        "booster_traceTransaction": node.trace,
        "booster_dumpState": node.dump_state,
    }
