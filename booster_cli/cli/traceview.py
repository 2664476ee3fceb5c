"""``booster trace``: a transaction's call tree across layers, for people.

One line per frame — the layer (``L1`` for frames run on L1 state through the precompiles), the
kind of call, the contract (its registered name, else the address; the precompiles by name), the
function and its arguments where the ABI is known, the gas it used — and under it the events it
emitted and the L1 slots it wrote (before → after, named as ``delta show`` names them). A frame
that failed says why, in red. The JSON form (``--json``) is the decorated callTracer tree."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from ..abicodec import to_checksum_address
from .txview import event_line

GUIDE = 4  # columns a tree level takes

def _value(hex_value: str | None) -> int:
    return int(hex_value, 16) if hex_value else 0


def frame_line(frame: dict) -> str:
    layer = "[bold cyan]L1[/] " if frame.get("layer") == "L1" else ("[cyan]L1 code[/] " if frame.get("codeLayer") == "L1" else "")
    address = to_checksum_address(frame["to"])
    who = f"{frame['name']} {address}" if frame.get("name") and not frame["name"].startswith("L1") else (frame.get("name") or address)
    call = ""
    if frame.get("function"):
        name = frame["function"].split("(")[0]
        call = f"  {name}({', '.join(frame['args'])})" if frame.get("args") is not None else f"  {frame['function']}"
    elif frame["type"] not in ("CREATE", "CREATE2") and len(frame["input"]) >= 10 and not (frame.get("name") or "").startswith("L1"):
        call = f"  selector {frame['input'][:10]}"
    value = _value(frame.get("value"))
    extra = f"  value {value:,} wei" if value else ""
    line = f"{layer}{frame['type']} {escape(who)}{escape(call)}{extra}  [dim]gas {_value(frame['gasUsed']):,}[/]"
    if frame.get("error"):
        reason = frame.get("revertReason") or frame["error"]
        line += f"  [bold red]✗ {escape(reason)}[/]"
    return line


def write_line(entry: dict) -> str:
    who = f"{entry['contract_name']} {entry['contract']}" if entry.get("contract_name") else entry["contract"]
    if entry.get("label") and "before_decoded" in entry:
        change = f"{entry['label']}  {entry['before_decoded']} → {entry['after_decoded']}"
    else:
        change = f"{entry.get('label') or 'slot ' + entry['slot']}  {int(entry['before'], 16):#x} → {int(entry['after'], 16):#x}"
    return f"[yellow]wrote[/] {escape(who)}  {escape(change)}"


def _fit(markup: str, width: int) -> Text:
    """A line of the tree at ``width`` columns: whole if it fits, else with its addresses
    shortened as the tables shorten them (``0xDc64…6C9``); what is still too long wraps."""
    from .output import short_addresses

    text = Text.from_markup(markup, overflow="fold")
    if text.cell_len > width:
        text = Text.from_markup(short_addresses(markup), overflow="fold")
    return text


def tree(view: dict, width: int = 1 << 16) -> Tree:
    top = view["trace"]
    state = "pending" if view.get("pending") else "settled"
    root = Tree(_fit(f"tx {view['tx_hash']}  L2 block {view['l2_block']} ({state})", width), guide_style="dim")
    stack = [(root, top, 1)]
    while stack:
        parent, frame, depth = stack.pop()
        node = parent.add(_fit(frame_line(frame), width - GUIDE * depth))
        inner = width - GUIDE * (depth + 1)
        for event in frame.get("events", ()):
            node.add(_fit(f"[green]event[/] {escape(event_line(event))}", inner))
        for entry in frame.get("l1Writes", ()):
            node.add(_fit(write_line(entry), inner))
        # children after this frame's own lines, in the order they ran
        stack.extend((node, child, depth + 1) for child in reversed(frame.get("calls", ())))
    return root


def show(view: dict) -> None:
    from . import output

    console = output.console()
    console.print(tree(view, console.width), soft_wrap=False)
