"""`--report FILE.html`: one self-contained page a person reads to check a run at a glance.

ReportCollector is fed every item of the run (`observe(record, rejects)`: a record as it came out
of the stages, or None, with what the stages dropped of it; or None and an input reject) and
keeps only what the page shows, so memory stays bounded whatever the input: the first
EXAMPLES_PER_REASON examples of each reason, each with the lines around it, the TOP_RECORDS
records that lost most lines (a heap), the first LISTED_INPUTS input rejects. Counts come from
the run's summary (Stats.summary), so they are --stats' own.

With --jobs each worker collects its chunks and the parent merges the collectors in input order
(`merge`): the same page as --jobs 1, and the parent never parses the records the workers send.

Every text from the input is escaped: the pages are hostile. The page loads nothing: inline CSS
and SVG only, no script."""
from __future__ import annotations

import heapq
from collections import Counter
from html import escape

from .records import cut

EXAMPLES_PER_REASON = 3
CONTEXT_LINES = 2  # shown before and after an example line
TOP_RECORDS = 10
LISTED_INPUTS = 50
# A line of an example is cut here: a page may hold a megabyte on one line.
REPORT_SHOWN_CHARS = 300


class ReportCollector:
    def __init__(self):
        self.items = 0  # items observed: the input order that breaks ties among the top records
        self.examples: dict[tuple[str, str], list[dict]] = {}  # (stage, reason) -> examples
        self.top: list[tuple] = []  # min-heap of (lines dropped, -item, row)
        self.inputs: list[dict] = []  # input rejects (the read stage's), the first LISTED_INPUTS
        self.inputs_more = 0

    # -- fed by the run ---------------------------------------------------------------------

    def observe(self, record: dict | None, rejects: list) -> None:
        """One item: a record out of the stages (None when dropped whole or never read) and
        everything dropped of it."""
        self.items += 1
        if not rejects:
            return
        if record is None and _is_input_reject(rejects[0]):
            self._list_input(rejects[0])
            return
        text = _kept_text(record, rejects)
        self._sample(text, rejects)
        self._rank(rejects, text)

    def observe_late(self, reject: dict) -> None:
        """A record dropped after the stages (dedup, in the main process): an example only, its
        lost lines having been ranked when the stages' output was observed."""
        self._sample(_kept_text(None, [reject]), [reject])

    def merge(self, other: "ReportCollector") -> None:
        """Add a worker's collector, for the items that came after this one's."""
        for key, examples in other.examples.items():
            mine = self.examples.setdefault(key, [])
            mine.extend(examples[:EXAMPLES_PER_REASON - len(mine)])
        for lost, item, row in other.top:
            self._push((lost, item - self.items, row))
        for reject in other.inputs:
            self._list_input(reject)
        self.inputs_more += other.inputs_more
        self.items += other.items

    def _sample(self, text: str, rejects: list) -> None:
        """An example of each reason whose quota is not full, one a record so that they show
        different pages; the page rebuilt only then (from the record's kept text)."""
        page = None
        taken = set()  # (stage, reason) of this record's
        for reject in rejects:
            key = (reject["stage"], reject["reason"])
            examples = self.examples.setdefault(key, [])
            if len(examples) >= EXAMPLES_PER_REASON or key in taken:
                continue
            taken.add(key)
            if page is None:
                page = _page(text.split("\n") if text is not None else [], rejects)
            examples.append(_example(reject, page))

    def _rank(self, rejects: list, text: str | None) -> None:
        dropped = [r for r in rejects if _is_line(r)]
        if not dropped or not self._enters((len(dropped), -self.items)):
            return  # the row is made only for a record that gets in
        first = rejects[0]
        kept = text.count("\n") + 1 if text is not None else 0
        row = {"id": first.get("id"), "source": first.get("source"), "dropped": len(dropped),
               "lines": kept + len(dropped),
               "reasons": dict(Counter(r["reason"] for r in rejects).most_common())}
        self._push((len(dropped), -self.items, row))

    def _enters(self, key: tuple) -> bool:
        """Whether an entry of this (lines dropped, -item) joins the TOP_RECORDS largest; among
        equals, the first in input order stays."""
        return len(self.top) < TOP_RECORDS or key > self.top[0][:2]

    def _push(self, entry: tuple) -> None:
        if len(self.top) < TOP_RECORDS:
            heapq.heappush(self.top, entry)
        elif self._enters(entry[:2]):
            heapq.heapreplace(self.top, entry)

    def _list_input(self, reject: dict) -> None:
        if len(self.inputs) < LISTED_INPUTS:
            self.inputs.append({k: _cut(str(v)) for k, v in reject.items()
                                if k in ("source", "input_line", "reason", "error", "text")
                                and v is not None})
        else:
            self.inputs_more += 1

    # -- the page ---------------------------------------------------------------------------

    def html(self, summary: dict) -> str:
        """The page for the run's summary (Stats.summary)."""
        counts = [(stage, reason, n) for stage, reasons in summary["rejects"].items()
                  for reason, n in reasons.items()]
        counts.sort(key=lambda c: -c[2])
        sections = [_summary_section(summary), _counts_section(counts),
                    _examples_section(counts, self.examples), _top_section(self.top),
                    _inputs_section(self.inputs, self.inputs_more)]
        return PAGE.format(style=STYLE, body="\n".join(sections))


class LateRejects:
    """The rejects writer handed to the dedup sink: what it drops after the stages reaches the
    report too (examples only, see observe_late)."""

    def __init__(self, rejects_out, collector: ReportCollector):
        self.rejects_out = rejects_out
        self.collector = collector

    def write(self, reject: dict) -> None:
        self.collector.observe_late(reject)
        self.rejects_out.write(reject)


def _is_input_reject(reject: dict) -> bool:
    """A reject of input that never became a record (or of a part of one being read)."""
    return reject["stage"] in ("read", "write") and "record" not in reject


def _is_line(reject: dict) -> bool:
    """A dropped line of a record (not a field, nor the record)."""
    return isinstance(reject.get("line"), int)


def _kept_text(record: dict | None, rejects: list) -> str | None:
    """The text a record kept, or that of the record a reject dropped whole (None: no text)."""
    if record is None:
        record = next((r["record"] for r in rejects if isinstance(r.get("record"), dict)), {})
    text = record.get("text")
    return text if isinstance(text, str) else None


def _page(kept: list[str], rejects: list) -> list[tuple[str, str | None]]:
    """The record's lines as they entered, (text, reason or None for kept): the dropped lines
    at their indexes, the kept ones filling the others in order."""
    dropped = {r["line"]: r for r in rejects if _is_line(r)}
    remaining = iter(kept)
    page = []
    for index in range(len(kept) + len(dropped)):
        if index in dropped:
            page.append((dropped[index]["text"], dropped[index]["reason"]))
        else:
            line = next(remaining, None)
            if line is None:  # indexes that do not fit the text: show what fits
                break
            page.append((line, None))
    return page


def _example(reject: dict, page: list) -> dict:
    """What the page shows of one reject: the lines around a dropped line, the head of a
    record dropped whole, or the dropped value alone."""
    where = {"id": _cut(str(reject.get("id"))), "source": _cut(str(reject.get("source")))}
    if _is_line(reject):
        at = reject["line"]
        start = max(0, at - CONTEXT_LINES)
        window = page[start:at + CONTEXT_LINES + 1]
        lines = [(start + i, _cut(text), reason, start + i == at)
                 for i, (text, reason) in enumerate(window)]
        return {**where, "what": f"line {at}", "lines": lines}
    if "record" in reject:  # dropped whole: what was left of it is what was judged
        head = page[:2 * CONTEXT_LINES + 1]
        lines = [(i, _cut(text), reason, reason is None) for i, (text, reason) in enumerate(head)]
        more = len(page) - len(head)
        return {**where, "what": "whole record" + (f", {more} more lines" if more > 0 else ""),
                "lines": lines, "error": _cut(str(reject.get("error") or ""))}
    field = reject.get("field", "")
    value = reject.get("text", reject.get("value", ""))
    return {**where, "what": f"field {field}" if field else "",
            "lines": [(None, _cut(str(value)), reject["reason"], True)]}




# -- HTML ------------------------------------------------------------------------------------

def _e(value) -> str:
    return escape(str(value), quote=True)


def _summary_section(s: dict) -> str:
    ignored = ", ".join(f"{reason.replace('_', ' ')} {n:,}"
                        for reason, n in s["files_ignored"].items()) or "none"
    kept = s["records_out"] / s["records_in"] if s["records_in"] else 0.0
    cards = [("records in", f"{s['records_in']:,}"),
             (f"records out ({kept:.0%} kept)", f"{s['records_out']:,}"),
             ("input errors", f"{s['input_errors']:,}"),
             ("inputs read", f"{s['inputs_read']:,}"),
             ("inputs skipped", f"{s['inputs_skipped']:,}"),
             ("bytes in", f"{s['bytes_in']:,}")]
    timing = [("seconds", f"{s['seconds']:,.3f}"), ("MB/s", f"{s['mb_per_s']:,.3f}")]
    html = "".join(_card(label, value, "") for label, value in cards)
    html += "".join(_card(label, value, " timing") for label, value in timing)
    alert = " alert" if s["input_errors"] else ""
    return (f'<section><h2>Summary</h2><div class="cards{alert}">{html}</div>'
            f'<p class="note">Files ignored: {_e(ignored)}</p></section>')


def _card(label: str, value: str, kind: str) -> str:
    return (f'<div class="card"><div class="value{kind}">{_e(value)}</div>'
            f'<div class="label">{_e(label)}</div></div>')


def _counts_section(counts: list) -> str:
    if not counts:
        return "<section><h2>Rejects</h2><p>Nothing was dropped.</p></section>"
    total = sum(n for _, _, n in counts)
    rows = "".join(f'<tr><td>{_e(stage)}</td><td><span class="tag {_reason_class(reason)}">'
                   f'{_e(reason)}</span></td><td class="num">{n:,}</td>'
                   f'<td class="num">{n / total:.1%}</td></tr>' for stage, reason, n in counts)
    table = (f'<table class="counts"><thead><tr><th>stage</th><th>reason</th><th>rejects</th>'
             f'<th>share</th></tr></thead><tbody>{rows}</tbody><tfoot><tr><td>all</td><td></td>'
             f'<td class="num">{total:,}</td><td></td></tr></tfoot></table>')
    return (f'<section><h2>Rejects by stage and reason</h2><div class="split">{table}'
            f'{_bar_chart(counts)}</div></section>')


BAR_ROW = 26  # px per bar in the chart
LABEL_WIDTH = 190
BAR_WIDTH = 330


def _bar_chart(counts: list) -> str:
    """A horizontal bar per (stage, reason), longest first, as inline SVG."""
    most = max(n for _, _, n in counts)
    height = BAR_ROW * len(counts) + 6
    bars = []
    for i, (stage, reason, n) in enumerate(counts):
        y = 3 + i * BAR_ROW
        width = max(2.0, BAR_WIDTH * n / most)
        bars.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{_e(stage)} · '
            f'{_e(reason)}</text><rect class="{_reason_class(reason)}" x="{LABEL_WIDTH}" '
            f'y="{y + 3}" width="{width:.1f}" height="{BAR_ROW - 8}" rx="3"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}">{n:,}</text>')
    total_width = LABEL_WIDTH + BAR_WIDTH + 70
    return (f'<svg class="chart" role="img" aria-label="rejects by reason" '
            f'width="{total_width}" height="{height}" '
            f'viewBox="0 0 {total_width} {height}">{"".join(bars)}</svg>')


# Reasons with a colour of their own; any other reason is grey.
REASON_CLASSES = {"spam_title": "r-spam", "spam_text": "r-spam", "html": "r-html",
                  "boilerplate": "r-chrome", "blank": "r-blank", "mojibake": "r-mojibake",
                  "no_content": "r-blank", "duplicate": "r-dup", "near_duplicate": "r-dup"}


def _reason_class(reason: str) -> str:
    return REASON_CLASSES.get(reason, "r-other")


def _examples_section(counts: list, examples: dict) -> str:
    blocks = []
    for stage, reason, n in counts:
        shown = examples.get((stage, reason), [])
        if not shown:
            continue
        items = "".join(_example_html(x) for x in shown)
        blocks.append(f'<h3><span class="tag {_reason_class(reason)}">{_e(reason)}</span> '
                      f'<span class="muted">{_e(stage)} · {n:,} rejects; the first {len(shown)}, '
                      f'one a page</span></h3>{items}')
    if not blocks:
        return ""
    return f'<section><h2>Examples</h2>{"".join(blocks)}</section>'


def _example_html(x: dict) -> str:
    lines = "".join(_line_html(*line) for line in x["lines"])
    error = f'<div class="muted">{_e(x["error"])}</div>' if x.get("error") else ""
    return (f'<div class="example"><div class="where">{_e(x["source"])} <span class="muted">'
            f'id {_e(x["id"])} · {_e(x["what"])}</span></div>{error}'
            f'<table class="page">{lines}</table></div>')


def _line_html(index: int | None, text: str, reason: str | None, marked: bool) -> str:
    row = ' class="hit"' if marked else ""
    tag = f'<span class="tag {_reason_class(reason)}">{_e(reason)}</span>' if reason else ""
    shown = _e(text) if text.strip() else '<span class="muted">(blank)</span>'
    number = "" if index is None else index
    return (f'<tr{row}><td class="num">{number}</td><td class="why">{tag}</td>'
            f'<td class="text">{shown}</td></tr>')


def _top_section(top: list) -> str:
    if not top:
        return ""
    rows = "".join(
        f'<tr><td class="text">{_e(row["source"])}<div class="muted">{_e(row["id"])}</div></td>'
        f'<td class="num">{row["dropped"]:,} of {row["lines"]:,}</td><td>'
        + " ".join(f'<span class="tag {_reason_class(reason)}">{_e(reason)} {n:,}</span>'
                   for reason, n in row["reasons"].items())
        + "</td></tr>" for _, _, row in sorted(top, key=lambda e: (-e[0], -e[1])))
    return (f'<section><h2>Records that lost most lines</h2><table class="top"><thead><tr>'
            f'<th>source and id</th><th>lines dropped</th><th>rejects by reason</th></tr>'
            f'</thead><tbody>{rows}</tbody></table></section>')


def _inputs_section(inputs: list, more: int) -> str:
    if not inputs:
        return ('<section><h2>Inputs not read</h2><p>Every input was read.</p></section>')
    rows = "".join(
        f'<tr><td class="text">{_e(i["source"])}'
        + (f':{_e(i["input_line"])}' if "input_line" in i else "")
        + f'</td><td><span class="tag r-other">{_e(i["reason"])}</span></td>'
          f'<td class="text">{_e(i.get("error") or i.get("text", ""))}</td></tr>'
        for i in inputs)
    tail = f'<p class="note">… and {more:,} more.</p>' if more else ""
    return (f'<section><h2>Inputs not read</h2><table class="inputs"><thead><tr><th>input</th>'
            f'<th>reason</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>{tail}'
            f'</section>')


PAGE = """<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zhclean report</title>
<style>{style}</style>
</head>
<body>
<header><h1>zhclean report</h1></header>
<main>
{body}
</main>
</body>
</html>
"""

STYLE = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 14px/1.5 system-ui, -apple-system,
  "Segoe UI", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
header { background: #24292f; color: #fff; padding: 14px 32px; }
h1 { margin: 0; font-size: 20px; font-weight: 600; }
main { max-width: 1120px; margin: 0 auto; padding: 8px 32px 40px; }
h2 { font-size: 17px; margin: 28px 0 12px; padding-bottom: 6px; border-bottom: 1px solid
  var(--line); }
h3 { font-size: 14px; margin: 20px 0 8px; font-weight: 600; }
.muted { color: var(--muted); font-weight: normal; }
.note { color: var(--muted); margin: 8px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
  background: var(--bg); }
.card .value { font-size: 18px; white-space: nowrap; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 12px; }
.cards.alert .card:nth-child(3) { border-color: #cf222e; background: #ffebe9; }
.split { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
table { border-collapse: collapse; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top;
  text-align: left; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
tfoot td { font-weight: 600; border-bottom: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { overflow-wrap: anywhere; }
.chart text { font-size: 12px; fill: var(--ink); font-family: inherit; }
.tag { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px;
  line-height: 18px; white-space: nowrap; background: #eaeef2; }
.r-spam { background: #ffd8d3; fill: #e5534b; }
.r-html { background: #f0d9ff; fill: #a475f9; }
.r-chrome { background: #fff1c2; fill: #d4a72c; }
.r-blank { background: #eaeef2; fill: #8c959f; }
.r-mojibake { background: #cdf3f7; fill: #3192aa; }
.r-dup { background: #d3e9ff; fill: #4493f8; }
.r-other { background: #eaeef2; fill: #6e7781; }
.example { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 10px;
  overflow: hidden; }
.example .where { background: var(--bg); padding: 5px 10px; border-bottom: 1px solid var(--line);
  overflow-wrap: anywhere; }
.example > .muted { padding: 4px 10px; }
table.page { width: 100%; table-layout: fixed; }
table.page td { border-bottom: none; padding: 2px 10px; }
table.page td.num { width: 52px; color: var(--muted); }
table.page td.why { width: 120px; }
table.page tr.hit td { background: #fff8c5; }
table.page tr.hit td.text { font-weight: 600; }
table.top, table.inputs { width: 100%; }
"""


def _cut(text: str) -> str:
    return cut(text, REPORT_SHOWN_CHARS)
