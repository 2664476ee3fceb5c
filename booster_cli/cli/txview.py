"""What one L2 transaction did, for people (``booster send``, ``booster tx``): the summary line,
the revert reason, the events (marked with the layer whose code emitted them) and the delta
entries it wrote, before → after as of that transaction."""

from __future__ import annotations

from .output import short


def summary(view: dict) -> str:
    return f"tx {view['tx_hash']}  L2 block {view['l2_block']}  gas {view['gas_used']:,}  status {view['status']}"


def _who(name: str | None, address: str) -> str:
    return f"{name} {address}" if name else address


def event_line(event: dict) -> str:
    layer = event["layer"].upper()
    who = _who(event.get("contract_name"), event["address"])
    if event.get("name") is None:
        topic0 = event["topics"][0] if event["topics"] else "none (anonymous)"
        size = (len(event["data"]) - 2) // 2
        return f"{layer}  {who}  unknown event: topic0 {topic0}, {max(len(event['topics']) - 1, 0)} more topic(s), {size} bytes of data"
    args = ", ".join(f"{k}={v}" for k, v in event["args"].items())
    return f"{layer}  {who}  {event['name']}({args})"


def delta_line(entry: dict) -> str:
    who = _who(entry.get("contract_name"), entry["contract"])
    if entry.get("label") and "before_decoded" in entry:
        return f"{who}  {entry['label']}  {entry['before_decoded']} → {entry['after_decoded']}"
    slot = entry.get("label") or f"slot {entry['slot']}"
    return f"{who}  {slot}  {short(entry['before'])} → {short(entry['after'])}"


def lines(view: dict, with_revert: bool = True) -> list[str]:
    """The transaction's lines; ``with_revert`` False when the error line says it already."""
    if view.get("status") is None:
        return [f"tx {view['tx_hash']}  waiting for an L2 block"]
    out = [summary(view)]
    if view.get("target") and view.get("mode") != "l2":
        call = f"{view['function']}" if view.get("function") else "a call"
        out.append(f"  {view['mode']}: {call} on L1 {_who(view.get('target_name'), view['target'])}")
    if view["status"] == 0 and with_revert and "revert_reason" in view:
        out.append(f"  reverted: {view['revert_reason']}")
    if "events" in view:
        out.append(f"events ({len(view['events'])})" if view["events"] else "events: none")
        out += ["  " + event_line(e) for e in view["events"]]
    if "delta" not in view:
        return out
    batch = view.get("batch") or {}
    where = f"settled in batch {batch['number']}" if batch.get("settled") and batch.get("number") else (
        "settled" if batch.get("settled") else "pending")
    if not view.get("delta_recorded", True):
        out.append("L1 writes: not recorded for this transaction (it ran before booster kept each transaction's writes)")
    elif view["delta"]:
        out.append(f"L1 writes, delta entries before → after this tx ({where})")
        out += ["  " + delta_line(d) for d in view["delta"]]
    else:
        out.append("L1 writes: none")
    return out


def show(view: dict, with_revert: bool = True) -> None:
    """Each line as it is where it fits the console; else with its addresses shortened as the
    tables shorten them (``0xDc64…6C9``); a line still too long wraps."""
    from rich.markup import escape

    from . import output

    width = output.console().width
    for line in lines(view, with_revert):
        output.say(escape(line if len(line) <= width else output.short_addresses(line)))
