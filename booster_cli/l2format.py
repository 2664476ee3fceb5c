"""JSON shapes of the L2's blocks, transactions and fee history, as geth and anvil answer them
(``0x`` quantities, 32-byte hashes, checksummed addresses), and the ``eth_getLogs`` filter."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

import rlp
from eth._utils.calculations import fake_exponential
from eth.vm.forks.cancun.constants import MIN_BLOB_BASE_FEE
from eth.vm.forks.prague.constants import BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE, MAX_BLOB_GAS_PER_BLOCK
from eth_bloom import BloomFilter
from eth_utils import to_checksum_address as _to_checksum_address

from .errors import RpcError
from .precompiles import l1_log_positions

MAX_PERCENTILES = 100
# the same few senders and contracts come back in every receipt; checksumming costs a keccak
to_checksum_address = lru_cache(maxsize=4096)(_to_checksum_address)


def invalid(message: str) -> RpcError:
    return RpcError(message, -32602)


def hx(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def word(value: int) -> str:
    """A 256-bit integer as a 32-byte hex word (topics, storage keys, signature parts)."""
    return hx(value.to_bytes(32, "big"))


def format_tx(tx: Any, sender: bytes, header: Any = None, index: int | None = None) -> dict:
    """A transaction object; ``header`` and ``index`` place it in a block (None while pending)."""
    kind = tx.type_id or 0
    out: dict = {"type": hex(kind)}
    if tx.chain_id is not None:
        out["chainId"] = hex(tx.chain_id)
    out.update(nonce=hex(tx.nonce), gas=hex(tx.gas))
    if kind in (0, 1):
        out["gasPrice"] = hex(tx.gas_price)
    else:
        out.update(maxFeePerGas=hex(tx.max_fee_per_gas), maxPriorityFeePerGas=hex(tx.max_priority_fee_per_gas))
        if header is None:
            out["gasPrice"] = hex(tx.max_fee_per_gas)  # as geth does for pending transactions
        else:
            base_fee = header.base_fee_per_gas
            out["gasPrice"] = hex(base_fee + min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee))
    if kind == 3:
        out["maxFeePerBlobGas"] = hex(tx.max_fee_per_blob_gas)
        out["blobVersionedHashes"] = [hx(h) for h in tx.blob_versioned_hashes]
    out.update(to=to_checksum_address(tx.to) if tx.to else None, value=hex(tx.value), input=hx(tx.data))
    if kind != 0:
        out["accessList"] = [
            {"address": to_checksum_address(entry.account), "storageKeys": [word(k) for k in entry.storage_keys]}
            for entry in tx.access_list
        ]
    if kind == 4:
        out["authorizationList"] = [
            {"chainId": hex(a.chain_id), "address": to_checksum_address(a.address), "nonce": hex(a.nonce),
             "yParity": hex(a.y_parity), "r": hex(a.r), "s": hex(a.s)}
            for a in tx.authorization_list
        ]
    out.update(r=word(tx.r), s=word(tx.s))
    if kind == 0:
        out["v"] = hex(tx.v)
    else:
        out["yParity"] = out["v"] = hex(tx.y_parity)
    out["hash"] = hx(tx.hash)
    out["blockHash"] = hx(header.hash) if header is not None else None
    out["blockNumber"] = hex(header.block_number) if header is not None else None
    out["transactionIndex"] = hex(index) if header is not None else None
    out["from"] = to_checksum_address(sender)
    if header is not None:
        out["blockTimestamp"] = hex(header.timestamp)
    return out


def format_block(block: Any, full: bool, sender_of: Callable[[Any], bytes]) -> dict:
    """A block object, its transactions as hashes or (``full``) as transaction objects."""
    h = block.header
    if full:
        transactions: list = [format_tx(tx, sender_of(tx), h, i) for i, tx in enumerate(block.transactions)]
    else:
        transactions = [hx(tx.hash) for tx in block.transactions]
    return {
        "hash": hx(h.hash),
        "parentHash": hx(h.parent_hash),
        "sha3Uncles": hx(h.uncles_hash),
        "miner": to_checksum_address(h.coinbase),
        "stateRoot": hx(h.state_root),
        "transactionsRoot": hx(h.transaction_root),
        "receiptsRoot": hx(h.receipt_root),
        "logsBloom": hx(h.bloom.to_bytes(256, "big")),
        "difficulty": hex(h.difficulty),
        "number": hex(h.block_number),
        "gasLimit": hex(h.gas_limit),
        "gasUsed": hex(h.gas_used),
        "timestamp": hex(h.timestamp),
        "extraData": hx(h.extra_data),
        "mixHash": hx(h.mix_hash.rjust(32, b"\0")),
        "nonce": hx(h.nonce.rjust(8, b"\0")),
        "baseFeePerGas": hex(h.base_fee_per_gas),
        "withdrawalsRoot": hx(h.withdrawals_root),
        "blobGasUsed": hex(h.blob_gas_used),
        "excessBlobGas": hex(h.excess_blob_gas),
        "parentBeaconBlockRoot": hx(h.parent_beacon_block_root),
        "requestsHash": hx(h.requests_hash),
        "size": hex(len(rlp.encode(block))),
        "uncles": [hx(u.hash) for u in block.uncles],
        "transactions": transactions,
        "withdrawals": [
            {"index": hex(w.index), "validatorIndex": hex(w.validator_index), "address": to_checksum_address(w.address), "amount": hex(w.amount)}
            for w in block.withdrawals
        ],
    }


# -- eth_feeHistory --

def blob_base_fee(header: Any) -> int:
    return fake_exponential(MIN_BLOB_BASE_FEE, header.excess_blob_gas, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE)


def block_count(value: Any) -> int:
    """eth_feeHistory's block count: a JSON number, a 0x quantity or a decimal string (as geth)."""
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and (value.isdigit() or value.startswith("0x")):
            return int(value, 16) if value.startswith("0x") else int(value)
    except ValueError:
        pass
    raise invalid(f"invalid block count {value!r}: expected a number")


def percentiles(value: Any) -> list[float]:
    if value is None:
        return []
    ok = isinstance(value, list) and len(value) <= MAX_PERCENTILES
    ok = ok and all(isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 100 for p in value)
    if not ok or any(a > b for a, b in zip(value, value[1:])):
        raise invalid(f"invalid reward percentiles {value!r}: expected at most {MAX_PERCENTILES} increasing numbers from 0 to 100")
    return [float(p) for p in value]


def block_rewards(gas_used: int, txs: list[tuple[int, int]], pcts: Sequence[float]) -> list[str]:
    """The priority fee paid at each percentile of a block's gas: ``txs`` holds (gas used,
    effective tip) per transaction; a percentile p answers the tip of the cheapest transaction at
    which the gas of all transactions tipping no more reaches p % of the block's gas used."""
    if not txs:
        return ["0x0"] * len(pcts)
    by_tip = sorted(txs, key=lambda t: t[1])
    rewards, i, gas_so_far = [], 0, by_tip[0][0]
    for p in pcts:
        threshold = int(gas_used * p / 100)
        while gas_so_far < threshold and i < len(by_tip) - 1:
            i += 1
            gas_so_far += by_tip[i][0]
        rewards.append(hex(by_tip[i][1]))
    return rewards


def fee_history(headers: list, following: Any, receipts: list[list[dict]] | None, pcts: Sequence[float]) -> dict:
    """``headers`` of consecutive blocks, the header after them (for the next base fee), and when
    percentiles are asked for, each block's receipts."""
    if not headers:
        return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": [], "baseFeePerBlobGas": [], "blobGasUsedRatio": []}
    answer = {
        "oldestBlock": hex(headers[0].block_number),
        "baseFeePerGas": [hex(h.base_fee_per_gas) for h in headers + [following]],
        "gasUsedRatio": [h.gas_used / h.gas_limit for h in headers],
        "baseFeePerBlobGas": [hex(blob_base_fee(h)) for h in headers + [following]],
        "blobGasUsedRatio": [h.blob_gas_used / MAX_BLOB_GAS_PER_BLOCK for h in headers],
    }
    if pcts and receipts is not None:
        answer["reward"] = [
            block_rewards(h.gas_used, [(int(r["gasUsed"], 16), int(r["effectiveGasPrice"], 16) - h.base_fee_per_gas) for r in rs], pcts)
            for h, rs in zip(headers, receipts)
        ]
    return answer


# -- eth_getLogs --

@dataclass
class LogFilter:
    """Addresses (any of them; empty: any) and topics by position (None: any; else any of the set)."""

    addresses: set[bytes]
    topics: list[set[bytes] | None]

    @classmethod
    def parse(cls, criteria: dict) -> "LogFilter":
        """``address``: one or a list; ``topics``: up to 4 positions, each null (any), a topic, or
        a list of topics (any of them; an empty list or a null inside means any)."""
        raw = criteria.get("address")
        addresses = {_fixed(a, 20, "address") for a in (raw if isinstance(raw, list) else [] if raw is None else [raw])}
        raw_topics = criteria.get("topics") or []
        if not isinstance(raw_topics, list) or len(raw_topics) > 4:
            raise invalid(f"invalid topics {raw_topics!r}: expected a list of at most 4 entries")
        topics: list[set[bytes] | None] = []
        for entry in raw_topics:
            options = entry if isinstance(entry, list) else [entry]
            wildcard = entry is None or not options or None in options
            topics.append(None if wildcard else {_fixed(t, 32, "topic") for t in options})
        return cls(addresses, topics)

    def may_match(self, bloom: int) -> bool:
        """False when a block's logs bloom shows that none of its logs can match."""
        if not bloom:
            return False
        f = BloomFilter(bloom)
        if self.addresses and not any(a in f for a in self.addresses):
            return False
        return all(options is None or any(t in f for t in options) for options in self.topics)

    def matches(self, log: dict) -> bool:
        if self.addresses and bytes.fromhex(log["address"][2:]) not in self.addresses:
            return False
        topics = log["topics"]
        if len(topics) < len(self.topics):
            return False
        return all(options is None or bytes.fromhex(t[2:]) in options for options, t in zip(self.topics, topics))


def _fixed(value: Any, size: int, what: str) -> bytes:
    try:
        if isinstance(value, str) and value.startswith("0x") and len(value) == 2 + 2 * size:
            return bytes.fromhex(value[2:])
    except ValueError:
        pass
    raise invalid(f"invalid {what} {value!r}: expected 0x followed by {2 * size} hex digits")


def format_receipts(block: Any, txs: list[tuple[bytes, bytes, Any, Any]], receipts: list) -> list[dict]:
    """JSON-RPC receipts of a sealed block, from (hash, sender, tx, computation) and py-evm's
    receipts; failed ones also carry ``revertReason`` (the revert data) and ``error``. Every one
    also carries booster's ``l1Logs`` (the positions, among its logs, of those L1 code emitted
    through the precompiles) and ``l1Writes`` (the L1 slots it wrote through L1CALL: contract,
    slot, value before it, value after it), for ``booster tx``; receipts from before booster kept
    them have neither."""

    out = []
    cumulative_prev = 0
    log_index = 0
    base_fee = block.header.base_fee_per_gas
    block_hash, block_number = hx(block.hash), hex(block.number)
    for index, ((tx_hash, sender, tx, computation), receipt) in enumerate(zip(txs, receipts)):
        logs = []
        tx_hex, index_hex = hx(tx_hash), hex(index)
        for log in receipt.logs:
            logs.append(
                {
                    "address": to_checksum_address(log.address),
                    "topics": [word(t) for t in log.topics],
                    "data": hx(log.data),
                    "blockNumber": block_number,
                    "blockHash": block_hash,
                    "transactionHash": tx_hex,
                    "transactionIndex": index_hex,
                    "logIndex": hex(log_index),
                    "removed": False,
                }
            )
            log_index += 1
        tip = min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)
        r = {
            "transactionHash": tx_hex,
            "transactionIndex": index_hex,
            "blockHash": block_hash,
            "blockNumber": block_number,
            "from": to_checksum_address(sender),
            "to": to_checksum_address(tx.to) if tx.to else None,
            "cumulativeGasUsed": hex(receipt.gas_used),
            "gasUsed": hex(receipt.gas_used - cumulative_prev),
            "effectiveGasPrice": hex(base_fee + tip),
            "contractAddress": None,
            "logs": logs,
            "logsBloom": "0x" + receipt.bloom.to_bytes(256, "big").hex(),
            "status": "0x0" if computation.is_error else "0x1",
            "type": hex(getattr(tx, "type_id", None) or 0),
        }
        r["l1Logs"] = l1_log_positions(computation) if logs else []
        r["l1Writes"] = [e.to_json() for e in getattr(computation, "booster_l1_writes", ())]
        if computation.is_error:
            r["revertReason"] = hx(bytes(computation.output))
            r["error"] = str(computation.error) or type(computation.error).__name__
        if not tx.to:
            r["contractAddress"] = to_checksum_address(computation.msg.storage_address)
        cumulative_prev = receipt.gas_used
        out.append(r)
    return out
