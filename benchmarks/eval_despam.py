"""Evaluate the despam stage on labelled pages and on real headlines.

    python benchmarks/eval_despam.py PAGES_DIR [PAGES_DIR ...] [--cross-validate K] [--titles FILE]
                                   [--convert] [--rules DIR] [--show N] [--split-by-site] [--missed]
                                   [--kept-folds F,F] [--no-templates] [--curve]
                                   [--train-also DIR ...] [--lines-out FILE] [--compare FILE]

--cross-validate K (the headline figure) splits the pages' sites into K folds; for each fold the
line model is trained (tools/train_despam.py: weights and threshold) on the pages of the other
folds' sites only and scored on this fold's, so every page is scored by a model that never saw
its site. It is reported for all pages and for each PAGES_DIR. Without it the shipped model is
scored: on the pages it was trained on, a measure of fit, not of generalisation; on
benchmarks/data/heldout, which nothing was fitted to, the measure of generalisation.

PAGES_DIR holds raw/NNNN.txt and labels/NNNN.jsonl ({"line": i, "label": L} per line of the page,
lines = text.split("\\n")). Each page is read like `zhclean despam` input is (the reader, with
encoding detection), optionally converted first (--convert, as in `zhclean run`), then run through
the real stage (build + call); dropped lines come from its rejects. The pages of one site
(raw/NNNN.meta.json `domain`) are taken for records of one run: the stage reads their template
table, as `zhclean run --templates` would (--no-templates: none; the pages of a site are always in
one fold, so no fold reads another's); the cross-validation also reports the pages whose site
has another labelled page, the only ones template evidence can reach. Prints, per noise label, the
share of its lines removed (any reason) and removed with the right reason; the share of content
lines kept; the pages whose content lost most; with --titles (TSV: source, category, title) the
share of real headlines dropped when each is a one-line record; with --articles (clean news,
one article a line) the articles dropped whole; with --curve, what the model alone removes of
the lines it decides at several thresholds on p(content), which compares two models apart from
where their thresholds fall; with --train-also DIR, the pages of DIR are added to the training of
every fold (but the fold holding their site) and never scored: the same pages scored by models
trained on more pages, which tells what more labelled data buys. --split-by-site also reports
two halves of the pages split by site (raw/NNNN.meta.json `domain`), to develop on one half
and check on the other; --missed prints the noise lines kept, grouped by page.

Every share comes with its 95 % interval by site: the scored sites drawn with replacement (a
percentile bootstrap, a fixed seed), a site's lines together, since the question is how the
figure would move on other sites. Two runs on the same pages are compared by --lines-out FILE
(each scored line's label and whether it was dropped) and, in the second run, --compare FILE:
the change of each share with its interval, both runs' lines of the same drawn sites (paired),
so that a change smaller than its interval is told from one the sites drawn cannot explain.
The headline set (all pages, cross-validated or not) is the one written and compared.

Rules are written by reading what despam missed, so a figure on the pages read is a measure of
fit. --kept-folds (default 3,4 of --cross-validate 5) names folds of sites kept from whoever
writes rules: their figures are also printed on their own, and --missed lists the lines of the
other folds' sites only (without --cross-validate it lists every page's: do not read it on the
kept sites or on benchmarks/data/heldout when writing rules). The patterns added on 2026-12-03
were written that way; the rules before them were written on the development pages
(../shared/data/pages) and earlier misses.
"""
from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zhclean.readers import read_inputs
from zhclean.records import Reject, new_record
from zhclean.runner import apply_stages
from zhclean.stages import Settings, named_stages
from zhclean.stages.despam import model_reason

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import train_despam  # noqa: E402  (tools/ is scripts, not a package)

NOISE = ("spam_title", "html", "boilerplate", "blank")
# --curve: thresholds on p(content) at which the model alone is scored.
CURVE_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
# The 95 % intervals: sites drawn with replacement this many times (a fixed seed: the same
# intervals every run). A site's lines go together, as they would on a site nobody has seen.
BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_SEED = 2005


def eval_stages(rules_dirs: tuple[str, ...], with_convert: bool) -> list:
    names = ("convert", "despam") if with_convert else ("despam",)
    return named_stages(names, Settings(rules_dirs=rules_dirs))


def run_record(record: dict, stages: list) -> list:
    return apply_stages(record, stages)[1]


def dropped_lines(path: Path, site: str, stages: list) -> tuple[int, dict[int, str], str]:
    """(number of lines read, line index -> reason dropped, record-level reason or "")."""
    records = [r for r in read_inputs((str(path),)) if not isinstance(r, Reject)]
    if not records:
        return 0, {}, "unreadable"
    record = dict(records[0], url=site)  # the site its template lines are counted under
    n_lines = len(record["text"].split("\n"))
    rejects = run_record(record, stages)
    lines = {r["line"]: r["reason"] for r in rejects if "line" in r}
    whole = next((r["reason"] for r in rejects if "record" in r), "")
    if whole:  # the whole record went: every line not dropped before went with it
        lines.update({i: whole for i in range(n_lines) if i not in lines})
    return n_lines, lines, whole


@dataclass
class PageResult:
    name: str
    site: str
    labels: list[str]
    lines: list[str]
    dropped: dict[int, str]
    whole: str


def evaluate_page(pages: Path, label_path: Path, stages: list) -> PageResult | None:
    name = label_path.stem
    labels = train_despam.read_labels(label_path)
    raw = pages / "raw" / f"{name}.txt"
    site = train_despam.page_site(raw)
    n_lines, dropped, whole = dropped_lines(raw, site, stages)
    if n_lines != len(labels):
        print(f"{name}: {n_lines} lines read, {len(labels)} labelled; skipped", file=sys.stderr)
        return None
    lines = raw.read_text(encoding="utf-8", errors="replace").split("\n")
    return PageResult(name, site, labels, lines, dropped, whole)


def report(title: str, results: list[PageResult], show: int, missed: bool) -> None:
    removed, right, total = Counter(), Counter(), Counter()
    losses = []
    copies = 0  # content lines dropped whose text the kept lines hold (a summary, a title again)
    for page in results:
        lost = []
        kept_text = letters("".join(page.lines[i] for i in range(len(page.labels))
                                    if i not in page.dropped))
        for i, label in enumerate(page.labels):
            total[label] += 1
            if i in page.dropped:
                removed[label] += 1
                right[label] += page.dropped[i] == label
                if label == "content":
                    lost.append((i, page.dropped[i]))
                    copies += bool(letters(page.lines[i])) and letters(page.lines[i]) in kept_text
        if lost:
            losses.append((len(lost) / page.labels.count("content"), page, lost))
    sites = len({page.site for page in results})
    print(f"{title}pages: {len(results)} from {sites} sites, lines: {sum(total.values())}")
    by_site = site_counts(results)
    for label in NOISE:
        n = total[label]
        if n:
            low, high = site_interval(*by_site[label][:2])
            print(f"  {label:12} {n:5} lines  removed {removed[label] / n:7.2%}  "
                  f"with the right reason {right[label] / n:7.2%}  "
                  f"(95 % by site: {low:.1%} to {high:.1%})")
    kept = total["content"] - removed["content"]
    low, high = site_interval(*by_site["content"][:2])
    print(f"  {'content':12} {total['content']:5} lines  kept    "
          f"{kept / max(total['content'], 1):7.2%}  (text kept, copies of kept lines aside: "
          f"{(kept + copies) / max(total['content'], 1):.2%}; 95 % by site: {1 - high:.2%} to "
          f"{1 - low:.2%})")
    print("pages whose content lost most:")
    for share, page, lost in sorted(losses, key=lambda x: x[0], reverse=True)[:show]:
        lines = ", ".join(f"{i}:{reason}" for i, reason in lost[:8])
        note = f" (whole record: {page.whole})" if page.whole else ""
        print(f"  {page.name}: {len(lost)}/{page.labels.count('content')} content lines "
              f"dropped{note}: {lines}")
        if missed:
            for i, _ in lost:
                print(f"      {i}: {page.lines[i][:120]}")
    if missed:
        print_missed(results)


def site_counts(results: list[PageResult], before: dict[tuple[str, int], bool] | None = None
                ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per label, per site of that label's lines: the lines dropped, all of them, and (with
    `before`, an earlier run's lines by page and line) those the earlier run dropped."""
    dropped, total, dropped_before = Counter(), Counter(), Counter()
    for page in results:
        for i, label in enumerate(page.labels):
            total[label, page.site] += 1
            dropped[label, page.site] += i in page.dropped
            if before is not None:
                dropped_before[label, page.site] += before[page.name, i]
    out = {}
    for label in {label for label, _ in total}:
        keys = sorted(key for key in total if key[0] == label)
        out[label] = tuple(np.array([c[key] for key in keys], dtype=float)
                           for c in (dropped, total, dropped_before))
    return out


@functools.cache  # the same draws for every label and every report of a run
def site_weights(sites: int) -> np.ndarray:
    """How many times each site is drawn, in each round of the bootstrap."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    return rng.multinomial(sites, np.full(sites, 1 / sites), size=BOOTSTRAP_ROUNDS)


def site_interval(dropped: np.ndarray, total: np.ndarray) -> tuple[float, float]:
    """The 95 % interval of the share dropped when other sites are drawn (percentile bootstrap
    over sites)."""
    if not len(total):
        return 0.0, 0.0
    w = site_weights(len(total))
    shares = (w @ dropped) / np.maximum(w @ total, 1)
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(low), float(high)


def save_lines(path: Path, results: list[PageResult]) -> None:
    """Every scored line's label and whether it was dropped, for a later --compare."""
    twice = [name for name, n in Counter(page.name for page in results).items() if n > 1]
    if twice:  # a line is known by its page's name
        sys.exit(f"--lines-out: pages of the same name in two folders: {', '.join(twice[:5])}")
    with open(path, "w", encoding="utf-8") as out:
        for page in results:
            for i, label in enumerate(page.labels):
                out.write(json.dumps({"page": page.name, "line": i, "label": label,
                                      "dropped": i in page.dropped}) + "\n")


def compare(path: Path, results: list[PageResult]) -> None:
    """The change in each share against an earlier run's --lines-out on the same pages, with its
    95 % interval: the same sites drawn for both runs (a paired bootstrap), so that the noise of
    which sites were labelled cancels and what is left is the change's own."""
    before = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            before[row["page"], row["line"]] = row["dropped"]
    missing = sum((page.name, i) not in before for page in results
                  for i in range(len(page.labels)))
    if missing:
        sys.exit(f"--compare {path}: {missing} lines scored here are not in it (other pages?)")
    print(f"against {path} (the same lines; 95 % intervals by site, paired):")
    by_site = site_counts(results, before)
    for label in (*NOISE[:3], "content"):
        if label not in by_site:
            continue
        dropped, total, dropped_before = by_site[label]
        w = site_weights(len(total))
        change = (w @ dropped - w @ dropped_before) / np.maximum(w @ total, 1)
        low, high = np.percentile(change, [2.5, 97.5])
        now, then = dropped.sum() / total.sum(), dropped_before.sum() / total.sum()
        what = "removed"
        if label == "content":  # the share kept, and its change
            what, now, then, low, high = "kept", 1 - now, 1 - then, 0.0 - high, 0.0 - low
        print(f"  {label:12} {int(total.sum()):5} lines  {what} {then:7.2%} -> {now:7.2%}  "
              f"change {100 * (now - then):+.2f} points (95 %: {100 * low:+.2f} to "
              f"{100 * high:+.2f})")


def letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def print_missed(results: list[PageResult]) -> None:
    """Noise lines the stage kept, grouped by page (blank lines aside)."""
    print("noise lines kept:")
    for page in results:
        kept = [(i, label) for i, label in enumerate(page.labels)
                if label in NOISE and label != "blank" and i not in page.dropped]
        if kept:
            print(f"  {page.name} ({page.site}):")
            for i, label in kept:
                print(f"      {i} {label}: {page.lines[i][:120]}")


def load_with_templates(dirs: list[Path], stages: list, with_templates: bool) -> list:
    """The labelled pages (train_despam.load_pages); the pages of a site are the records of one
    run, so the despam stage reads their template table (with_templates)."""
    converting = [stage for name, stage in stages if name == "convert"]
    despam = stages[-1][1]
    pages, despam.templates = train_despam.load_pages(
        dirs, (converting[0] if converting else None, despam), with_convert=bool(converting),
        with_templates=with_templates)
    return pages


def evaluate_pages(dirs: list[Path], stages: list, show: int, split_by_site: bool,
                   missed: bool, with_templates: bool, curve: bool = False
                   ) -> list[PageResult]:
    pages = load_with_templates(dirs, stages, with_templates)
    results = [r for pages in dirs for label_path in sorted((pages / "labels").glob("*.jsonl"))
               if (r := evaluate_page(pages, label_path, stages))]
    report("", results, show, missed and not split_by_site)
    if split_by_site:
        for half in (0, 1):
            print()
            report(f"site half {half}: ",
                   [r for r in results if train_despam.fold_of(r.site, 2) == half],
                   show, missed)
    if curve:
        print()
        print_curve("", model_scores(stages[-1][1].model, pages))
    return results


@dataclass
class Scored:
    """A line the model decides: its site, label, probabilities, and whether it is a paragraph."""
    site: str
    label: str
    probabilities: list[float]
    paragraph: bool


def model_scores(model, pages: list) -> list[Scored]:
    """The model's probabilities for the lines it decides on these pages (train_despam.Page)."""
    scored = []
    for page in pages:
        probabilities = model.predict(page.features, model.page_shares(page.words))
        for features, p, label, decides in zip(page.features, probabilities, page.labels,
                                               page.by_model):
            if decides and p is not None:
                scored.append(Scored(page.site, label, p, "paragraph" in features))
    return scored


def print_curve(title: str, scored: list[Scored]) -> None:
    """The model alone, on the lines it decides, at several thresholds on p(content): two models
    compared here apart from where their thresholds fall (the threshold is a policy, set to keep
    a share of content)."""
    total = Counter(s.label for s in scored)
    print(f"{title}the model alone, on the {len(scored)} lines it decides: removed at each "
          f"threshold on p(content)")
    print("  " + f"{'threshold':>10}" + "".join(f"{label:>13}" for label in NOISE[:3]) +
          f"{'content lost':>14}")
    for threshold in CURVE_THRESHOLDS:
        removed = Counter(s.label for s in scored
                          if model_reason(s.probabilities, threshold, s.paragraph))
        shares = [removed[label] / total[label] if total[label] else 0.0
                  for label in (*NOISE[:3], "content")]
        print("  " + f"{threshold:>10}" + "".join(f"{x:>13.1%}" for x in shares[:3]) +
              f"{shares[3]:>14.2%}")


def cross_validate(dirs: list[Path], stages: list, folds: int, show: int, missed: bool,
                   with_templates: bool, kept_folds: frozenset[int] = frozenset(),
                   curve: bool = False, train_also: tuple[Path, ...] = ()
                   ) -> list[PageResult]:
    """Each fold's pages scored by a model trained on the other folds' sites only (and on the
    pages of `train_also` whose sites are not in the fold, never scored); the sites of
    `kept_folds` (kept from whoever writes rules) also on their own. Returns every page's
    result."""
    despam = stages[-1][1]
    pages = load_with_templates([*dirs, *train_also], stages, with_templates)
    training_only = {d.name for d in train_also}
    shipped = despam.model, despam.t["model.min_content_probability"]
    results: dict[Path, list[PageResult]] = {d: [] for d in dirs}
    scored: list[Scored] = []
    for k in range(folds):
        seen = [p for p in pages if train_despam.fold_of(p.site, folds) != k]
        despam.model, despam.t["model.min_content_probability"] = train_despam.train(seen)
        if curve:
            scored += model_scores(despam.model, [
                p for p in pages if train_despam.fold_of(p.site, folds) == k and
                p.name.split("/")[0] not in training_only])
        print(f"fold {k}: trained on {len(seen)} pages, threshold "
              f"{despam.t['model.min_content_probability']}", file=sys.stderr)
        for pages_dir in dirs:
            for label_path in sorted((pages_dir / "labels").glob("*.jsonl")):
                site = train_despam.page_site(pages_dir / "raw" / f"{label_path.stem}.txt")
                if train_despam.fold_of(site, folds) == k and \
                        (r := evaluate_page(pages_dir, label_path, stages)):
                    results[pages_dir].append(r)
    despam.model, despam.t["model.min_content_probability"] = shipped
    every = sum(results.values(), [])
    # --missed lists the lines of the sites read when writing rules only.
    report(f"cross-validated by site ({folds} folds), all: ", every, show,
           missed and not kept_folds)
    if kept_folds:
        for kept in (False, True):
            print()
            report(f"cross-validated by site, the sites of folds "
                   f"{'kept from' if kept else 'read when writing'} the rules: ",
                   [r for r in every
                    if (train_despam.fold_of(r.site, folds) in kept_folds) == kept], show,
                   missed and not kept)
    for pages_dir, part in results.items():
        print()
        report(f"cross-validated by site, {pages_dir}: ", part, show, False)
    # Template evidence needs another record of the site in the run.
    pages_of = Counter(r.site for r in every)
    print()
    report("cross-validated by site, pages whose site has another labelled page: ",
           [r for r in every if pages_of[r.site] >= 2], show, False)
    if curve:
        print()
        print_curve("cross-validated by site, all: ", scored)
        if kept_folds:
            print()
            print_curve("cross-validated by site, the sites of the folds kept from the rules: ",
                        [s for s in scored if train_despam.fold_of(s.site, folds) in kept_folds])
    return every


def kept_folds(parser: argparse.ArgumentParser, value: str | None, folds: int) -> frozenset[int]:
    """--kept-folds as fold numbers; by default folds 3 and 4 of 5, the split the patterns of
    2026-12-03 were written under (fold_of's folds differ for another number of folds)."""
    if value is None:
        return frozenset({3, 4}) if folds == 5 else frozenset()
    try:
        kept = frozenset(int(k) for k in value.split(",") if k.strip())
    except ValueError:
        parser.error(f"--kept-folds: fold numbers separated by commas, not {value!r}")
    if any(not 0 <= k < folds for k in kept):
        parser.error(f"--kept-folds: folds are numbered 0 to {folds - 1}")
    return kept


def evaluate_titles(path: Path, stages: list, show: int) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        texts = [row["title"] for row in csv.DictReader(f, delimiter="\t")]
    evaluate_records("headlines", path, texts, stages, show)


def evaluate_articles(path: Path, stages: list, show: int) -> None:
    """Clean news, one article (or paragraph) a line: each line one record."""
    with open(path, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f if line.strip()]
    evaluate_records(f"clean articles ({path.name})", path, texts, stages, show)


def evaluate_records(what: str, path: Path, texts: list[str], stages: list, show: int) -> None:
    """One-line records that are all real content: how many are dropped whole."""
    dropped = []
    for n, text in enumerate(texts):
        record = new_record(id=str(n), source=str(path), title="", text=text)
        rejects = run_record(record, stages)
        if any("record" in r for r in rejects):
            dropped.append((text, [r["reason"] for r in rejects]))
    print(f"{what}: {len(texts)}, dropped whole {len(dropped)} ({len(dropped) / len(texts):.3%})")
    for text, reasons in dropped[:show]:
        print(f"  {text[:100]}  {reasons}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", type=Path, nargs="+")
    parser.add_argument("--cross-validate", type=int, metavar="K",
                        help="train on the sites of K-1 folds, score on the other (the headline)")
    parser.add_argument("--titles", type=Path, help="TSV of real headlines (a title column)")
    parser.add_argument("--articles", type=Path, action="append", default=[],
                        help="clean news, one article a line (repeatable)")
    parser.add_argument("--convert", action="store_true", help="run convert before despam")
    parser.add_argument("--rules", action="append", default=[], help="a --rules DIR")
    parser.add_argument("--show", type=int, default=10, help="how many pages/headlines to list")
    parser.add_argument("--split-by-site", action="store_true",
                        help="also report each half of the pages, split by site (meta domain)")
    parser.add_argument("--missed", action="store_true",
                        help="print the noise lines kept and the content lines dropped")
    parser.add_argument("--kept-folds", default=None,
                        help="with --cross-validate: the folds whose sites nobody reads when "
                             "writing rules, reported on their own (default with 5 folds: 3,4; "
                             "'' for none)")
    parser.add_argument("--no-templates", dest="templates", action="store_false",
                        help="no template evidence: the pages of a site are not one run")
    parser.add_argument("--curve", action="store_true",
                        help="also score the model alone at several thresholds on p(content)")
    parser.add_argument("--train-also", type=Path, action="append", default=[], metavar="DIR",
                        help="with --cross-validate: labelled pages added to every fold's "
                             "training, never scored (repeatable)")
    parser.add_argument("--lines-out", type=Path, metavar="FILE",
                        help="write every scored line's label and fate (JSONL), for --compare")
    parser.add_argument("--compare", type=Path, metavar="FILE",
                        help="the change against an earlier --lines-out of the same pages, "
                             "with 95 %% intervals by site")
    args = parser.parse_args()
    stages = eval_stages(tuple(args.rules), args.convert)
    print(f"despam {'after convert' if args.convert else 'on raw text'}")
    if args.cross_validate is not None and args.cross_validate < 2:
        parser.error("--cross-validate needs at least 2 folds")
    if args.train_also and not args.cross_validate:
        parser.error("--train-also needs --cross-validate")
    if {d.name for d in args.train_also} & {d.name for d in args.pages}:
        parser.error("--train-also: a folder named like one of the scored ones")
    if args.cross_validate:
        kept = kept_folds(parser, args.kept_folds, args.cross_validate)
        results = cross_validate(args.pages, stages, args.cross_validate, args.show,
                                 args.missed, args.templates, kept, args.curve,
                                 tuple(args.train_also))
    else:
        results = evaluate_pages(args.pages, stages, args.show, args.split_by_site, args.missed,
                                 args.templates, args.curve)
    if args.lines_out:
        save_lines(args.lines_out, results)
    if args.compare:
        print()
        compare(args.compare, results)
    if args.titles:
        evaluate_titles(args.titles, stages, args.show)
    for path in args.articles:
        evaluate_articles(path, stages, args.show)


if __name__ == "__main__":
    main()
