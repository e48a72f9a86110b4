"""Add collected pages to a labelled page set and label their lines (by shared/data/pages's
LABELING.md).

    python benchmarks/label_pages.py meta PAGES_DIR ID --url URL --query Q --kind spam|clean
                                         [--kept-aside FILE] [--known-sites DIR ...]
    python benchmarks/label_pages.py show PAGES_DIR ID
    python benchmarks/label_pages.py label PAGES_DIR ID SPEC [--out labels]
    python benchmarks/label_pages.py check PAGES_DIR [--labels labels]
    python benchmarks/label_pages.py agree PAGES_DIR [--labels labels] [--other labels_second]

A page is PAGES_DIR/raw/ID.txt (written by whoever collected it) with raw/ID.meta.json (written by
`meta`: url, site, script counts, the query) and labels/ID.jsonl ({"line": i, "label": L} for every
line of text.split("\\n")). `label` takes a compact SPEC of line ranges and letters, e.g.
"0:s 4-6:p 12:h 30-:p": s spam_title, h html, p boilerplate, c content. Lines not named are content;
blank lines (empty or whitespace) are always `blank`, whatever the SPEC says (LABELING.md).
`--out` writes another labels folder (a second, independent pass for measuring agreement);
`agree` compares the two on the pages both labelled: agreement and Cohen's kappa on the non-blank
lines, and the confusion between the labels.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

LETTERS = {"c": "content", "s": "spam_title", "h": "html", "p": "boilerplate"}
# Second-level suffixes under which a site is the third label from the right
# (www.x.com.cn -> x.com.cn).
SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "ac", "co", "idv"}
SCRIPT_CHARS = Path(__file__).resolve().parent.parent / "rules" / "convert_script_chars.tsv"


def site_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    labels = host.split(".")
    if all(part.isdigit() for part in labels):
        return host
    keep = 3 if len(labels) >= 3 and labels[-2] in SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def script_counts(text: str) -> dict[str, int]:
    chars = {"traditional": set(), "simplified": set()}
    for line in SCRIPT_CHARS.read_text(encoding="utf-8").splitlines():
        kind, _, body = line.partition("\t")
        if kind in chars:
            chars[kind].update(body)
    trad = sum(ch in chars["traditional"] for ch in text)
    simp = sum(ch in chars["simplified"] for ch in text)
    return {"trad_chars": trad, "simp_chars": simp,
            "script": "traditional" if trad > simp else "simplified"}


def page_lines(pages: Path, page_id: str) -> list[str]:
    with open(pages / "raw" / f"{page_id}.txt", encoding="utf-8", newline="") as f:
        return f.read().split("\n")


def metas(pages: Path):
    """Each raw/NNNN.meta.json of a labelled set, with what it holds."""
    for path in sorted((pages / "raw").glob("*.meta.json")):
        yield path, json.loads(path.read_text())


def cmd_meta(args) -> int:
    site = site_of(args.url)
    if args.kept_aside:
        kept = {line.strip() for line in Path(args.kept_aside).read_text().splitlines()
                if line.strip() and not line.startswith("#")}
        if site in kept:
            print(f"{site} is kept aside: do not collect it", file=sys.stderr)
            return 1
    for other_set in args.known_sites:
        # Another labelled set's sites: the held-out set's must never reach training, and a new
        # batch on new sites measures more of the web.
        for other, other_meta in metas(other_set):
            if other_meta.get("domain") == site:
                print(f"{site} is in {other_set} already ({other.name}): collect another site",
                      file=sys.stderr)
                return 1
    known = [args.pages]
    if args.kept_aside:  # the development pages beside KEPT_ASIDE_SITES.txt are collected already
        known.append(Path(args.kept_aside).parent)
    for other, other_meta in (found for pages in known for found in metas(pages)):
        if other != args.pages / "raw" / f"{args.id}.meta.json" and \
                other_meta.get("url") == args.url:
            print(f"{args.url} is already collected as {other.name}", file=sys.stderr)
            return 1
    lines = page_lines(args.pages, args.id)
    meta = {"url": args.url, "domain": site, "query": args.query, "kind": args.kind,
            **script_counts("\n".join(lines)), "n_lines": len(lines),
            "source": "stored public web pages corpus (search tool, pages), page opening"}
    (args.pages / "raw" / f"{args.id}.meta.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{args.id}: {site}, {meta['script']}, {len(lines)} lines")
    return 0


def cmd_show(args) -> int:
    for i, line in enumerate(page_lines(args.pages, args.id)):
        print(f"{i:4} {line!r}" if not line.strip() else f"{i:4} {line}")
    return 0


def parse_spec(spec: str, n: int) -> list[str]:
    labels = ["content"] * n
    for item in spec.split():
        where, _, letter = item.partition(":")
        if letter not in LETTERS:
            raise ValueError(f"{item!r}: the letter must be one of {', '.join(LETTERS)}")
        start, dash, end = where.partition("-")
        first = int(start)
        last = (int(end) if end else n - 1) if dash else first
        if not 0 <= first <= last < n:
            raise ValueError(f"{item!r}: lines run 0-{n - 1}")
        for i in range(first, last + 1):
            labels[i] = LETTERS[letter]
    return labels


def cmd_label(args) -> int:
    lines = page_lines(args.pages, args.id)
    try:
        labels = parse_spec(args.spec, len(lines))
    except ValueError as e:
        print(f"{args.id}: {e}", file=sys.stderr)
        return 1
    labels = ["blank" if not line.strip() else label for line, label in zip(lines, labels)]
    out = args.pages / args.out
    out.mkdir(exist_ok=True)
    with open(out / f"{args.id}.jsonl", "w", encoding="utf-8") as f:
        for i, label in enumerate(labels):
            f.write(json.dumps({"line": i, "label": label}) + "\n")
    counts = {label: labels.count(label) for label in dict.fromkeys(labels)}
    print(f"{args.id}: {counts}")
    return 0


def cmd_check(args) -> int:
    bad = 0
    for raw in sorted((args.pages / "raw").glob("*.txt")):
        label_path = args.pages / args.labels / f"{raw.stem}.jsonl"
        meta_path = raw.with_suffix(".meta.json")
        if not meta_path.is_file():
            print(f"{raw.stem}: no meta"); bad += 1
        if not label_path.is_file():
            print(f"{raw.stem}: no labels"); bad += 1
            continue
        labels = [json.loads(line) for line in label_path.read_text().splitlines() if line.strip()]
        if len(labels) != len(page_lines(args.pages, raw.stem)):
            lines = len(page_lines(args.pages, raw.stem))
            print(f"{raw.stem}: {len(labels)} labels for {lines} lines")
            bad += 1
    print(f"{bad} problems")
    return 1 if bad else 0


def read_labels(path: Path) -> list[str]:
    return [json.loads(line)["label"] for line in path.read_text().splitlines() if line.strip()]


def cmd_agree(args) -> int:
    pairs = []
    for second in sorted((args.pages / args.other).glob("*.jsonl")):
        first = args.pages / args.labels / second.name
        if first.is_file():
            pairs += [(a, b) for a, b in zip(read_labels(first), read_labels(second))
                      if a != "blank" or b != "blank"]
    if not pairs:
        print("no page labelled twice")
        return 1
    pages = len(list((args.pages / args.other).glob("*.jsonl")))
    labels = sorted({label for pair in pairs for label in pair})
    agreed = sum(a == b for a, b in pairs) / len(pairs)
    expected = sum((sum(a == label for a, _ in pairs) / len(pairs)) *
                   (sum(b == label for _, b in pairs) / len(pairs)) for label in labels)
    kappa = (agreed - expected) / (1 - expected) if expected < 1 else 1.0
    print(f"{pages} pages, {len(pairs)} non-blank lines: agreement {agreed:.1%}, "
          f"Cohen's kappa {kappa:.3f}")
    print(f"{'first / second':16}" + "".join(f"{label:>13}" for label in labels))
    for a in labels:
        print(f"{a:16}" + "".join(f"{sum(p == (a, b) for p in pairs):13}" for b in labels))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    meta = sub.add_parser("meta")
    meta.add_argument("pages", type=Path)
    meta.add_argument("id")
    meta.add_argument("--url", required=True)
    meta.add_argument("--query", required=True)
    meta.add_argument("--kind", choices=("spam", "clean"), required=True)
    meta.add_argument("--kept-aside", help="KEPT_ASIDE_SITES.txt: refuse its sites and the "
                      "URLs of the pages beside it")
    meta.add_argument("--known-sites", type=Path, action="append", default=[], metavar="DIR",
                      help="another labelled page set: refuse its sites (repeatable)")
    show = sub.add_parser("show")
    show.add_argument("pages", type=Path)
    show.add_argument("id")
    label = sub.add_parser("label")
    label.add_argument("pages", type=Path)
    label.add_argument("id")
    label.add_argument("spec")
    label.add_argument("--out", default="labels")
    check = sub.add_parser("check")
    check.add_argument("pages", type=Path)
    check.add_argument("--labels", default="labels")
    agree = sub.add_parser("agree")
    agree.add_argument("pages", type=Path)
    agree.add_argument("--labels", default="labels")
    agree.add_argument("--other", default="labels_second")
    args = parser.parse_args()
    return {"meta": cmd_meta, "show": cmd_show, "label": cmd_label, "check": cmd_check,
            "agree": cmd_agree}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
