"""Recall and false merges of pipeline/dedup.py on a corpus with planted duplicates.

Distinct articles are built from real news text: consecutive paragraphs of a file of one paragraph
(or sentence) per line, grouped until an article has at least --min-chars characters and 3 lines.
A share of them is copied later into the stream in one of four ways (plant_duplicates):

    exact       the same text
    headline    the same text under another title
    drop        one paragraph (line) dropped
    edit        2 to 5 characters replaced, inserted or deleted

The stream goes through the Deduper in two "runs" over one SQLite file (committed in between), so
half of the copies are found across runs. Printed: recall per kind (a copy rejected with
duplicate_of = its original, or what its original was merged into), the share of distinct articles
wrongly merged (see score), and the speed.

    python benchmarks/eval_dedup.py /work/shared/data/sighan2005/pku_test.utf8 \
        /work/shared/data/sighan2005/msr_test.utf8 --thresholds 0.5 0.6 0.7 0.8

tests/test_dedup.py loads plant_duplicates and score from this file for its small corpus.
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("exact", "headline", "drop", "edit")
EDIT_CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"


def articles_from_lines(lines: list[str], min_chars: int = 300) -> list[list[str]]:
    articles, current = [], []
    for line in (x.strip() for x in lines):
        if not line:
            continue
        current.append(line)
        if len(current) >= 3 and sum(map(len, current)) >= min_chars:
            articles.append(current)
            current = []
    return articles


def edit_characters(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(2, 5)):
        i = rng.randrange(len(chars))
        op = rng.choice(("replace", "insert", "delete"))
        if op == "replace":
            chars[i] = rng.choice(EDIT_CHARS)
        elif op == "insert":
            chars.insert(i, rng.choice(EDIT_CHARS))
        else:
            del chars[i]
    return "".join(chars)


def plant_duplicates(articles: list[list[str]], share: float = 0.3,
                     seed: int = 7) -> tuple[list[dict], dict[str, tuple[str, str]]]:
    """Records (originals in order, each copy later at a random place) and copy id -> (original
    id, kind)."""
    rng = random.Random(seed)
    records = [{"id": f"a{i}", "source": "corpus", "title": lines[0][:20], "text": "\n".join(lines),
                "meta": {}} for i, lines in enumerate(articles)]
    planted: dict[str, tuple[str, str]] = {}
    for i in rng.sample(range(len(articles)), int(len(articles) * share)):
        kind = KINDS[len(planted) % len(KINDS)]
        lines = list(articles[i])
        title = records[i]["title"]
        if kind == "headline":
            title = "转载：" + lines[-1][:15]
        elif kind == "drop":
            del lines[rng.randrange(len(lines))]
        elif kind == "edit":
            lines = edit_characters("\n".join(lines), rng).split("\n")
        copy = {"id": f"c{i}", "source": "copy", "title": title, "text": "\n".join(lines),
                "meta": {}}
        after = next(k for k, r in enumerate(records) if r["id"] == f"a{i}") + 1
        records.insert(rng.randint(after, len(records)), copy)
        planted[copy["id"]] = (f"a{i}", kind)
    return records, planted


def true_jaccard(a: str, b: str, ngram: int) -> float:
    from zhclean.dedup import normalise

    sa, sb = ({t[i:i + ngram] for i in range(len(t) - ngram + 1)} for t in map(normalise, (a, b)))
    return len(sa & sb) / max(1, len(sa | sb))


def score(records: list[dict], rejects: list[dict], planted: dict[str, tuple[str, str]],
          threshold: float, ngram: int) -> dict:
    """A copy counts as found when it points at its original, or at the record its original was
    itself merged into. A merge of two distinct articles is wrong when their true Jaccard
    similarity (exact, over all n-grams) is below the threshold; at or above it the source itself
    repeats the text (e.g. a law and the amendment quoting it) and the merge is right."""
    text = {r["id"]: r["text"] for r in records}
    merged_into = {r["id"]: r["duplicate_of"] for r in rejects}

    def root(rec_id: str) -> str:
        while rec_id in merged_into:
            rec_id = merged_into[rec_id]
        return rec_id

    found = {kind: 0 for kind in KINDS}
    total = {kind: 0 for kind in KINDS}
    for copy_id, (original, kind) in planted.items():
        total[kind] += 1
        found[kind] += copy_id in merged_into and root(copy_id) == root(original)
    distinct = [r for r in rejects if r["id"] not in planted]
    wrong = sum(true_jaccard(text[r["id"]], text[r["duplicate_of"]], ngram) < threshold
                for r in distinct)
    wrong += sum(r["id"] in planted and root(r["id"]) != root(planted[r["id"]][0])
                 for r in rejects)
    n_distinct = len(records) - len(planted)
    return {"recall": sum(found.values()) / max(1, len(planted)),
            "recall_by_kind": {k: found[k] / max(1, total[k]) for k in KINDS},
            "planted": len(planted), "distinct": n_distinct,
            "source_duplicates": len(distinct) - wrong, "wrongly_merged": wrong,
            "false_merge_rate": wrong / max(1, n_distinct)}


def run_dedup(records: list[dict], threshold: float, ngram: int, db: str) -> tuple[list, float]:
    from zhclean.dedup import Deduper, DedupOptions

    rejects, start = [], time.perf_counter()
    half = len(records) // 2
    for part in (records[:half], records[half:]):  # two runs over one persisted index
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN")
        dedup = Deduper(conn, DedupOptions(near_threshold=threshold, ngram=ngram))
        for record in part:
            rejects.extend(dedup(dict(record))[1])
        conn.execute("COMMIT")
        conn.close()
    return rejects, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="UTF-8 text, one paragraph per line")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.5])
    parser.add_argument("--ngrams", nargs="+", type=int, default=[5])
    parser.add_argument("--min-chars", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.3)
    args = parser.parse_args()
    lines = [line for f in args.files for line in
             Path(f).read_text(encoding="utf-8-sig").splitlines()]
    articles = articles_from_lines(lines, args.min_chars)
    records, planted = plant_duplicates(articles, args.share)
    chars = sum(len(r["text"]) for r in records)
    print(f"corpus: {len(articles)} distinct articles, {len(planted)} planted copies, "
          f"{len(records)} records, {chars / len(records):.0f} chars per record")
    for ngram in args.ngrams:
        for threshold in args.thresholds:
            with tempfile.TemporaryDirectory() as tmp:
                rejects, seconds = run_dedup(records, threshold, ngram, f"{tmp}/state.db")
            s = score(records, rejects, planted, threshold, ngram)
            kinds = " ".join(f"{k} {v:.1%}" for k, v in s["recall_by_kind"].items())
            print(f"n={ngram} threshold={threshold}: recall {s['recall']:.1%} ({kinds}); "
                  f"wrongly merged {s['wrongly_merged']}/{s['distinct']} "
                  f"({s['false_merge_rate']:.2%}), rightly merged source repeats "
                  f"{s['source_duplicates']}; {len(records) / seconds:.0f} records/s, "
                  f"{chars * 3 / 1e6 / seconds:.2f} MB/s of UTF-8 text")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
