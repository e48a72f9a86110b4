"""The evidence despam weighs for each line, and the learnt model that weighs it.

Every line gets named features that hold on any site: its shape (length, script shares, sentence
punctuation, `key: value` fields, dates, URLs, phone numbers, rows of short words joined by `|` or
spaces, the character pairs of a short line, its first and last letters, a teaser's `...`, a
trailing date), its place relative to the article body (the run of sentence-like lines holding
the most text) and the share of its words (pairs of Han characters) that the body uses too (a
related headline or the site's name shares few), its repetition on the page and, given a template
table, across the records of its site (templates.py), its neighbours,
and the hand-written rules' evidence (lexicon weights, boilerplate.txt matches by kind and how
much of the line they cover, the page-zone rules), none of which decides alone. A multinomial
logistic regression over the features (stage 1) gives each line the probability of each label.
Another reads the page's words, the character pairs of its opening but the lines the rules call
markup or spam titles (stage 0), and gives the share of each label it expects on the page: a
casino's doorway page reads like no news page, whatever its site, and a hijacked page's header
does not make the article under it read as one. A second regression reads the stage-1
probabilities of the line, of its neighbours and their mean over the page, and stage 0's shares
(stage 2), which smooths a decision over the lines around it and lets a page that is spam from
top to bottom (a doorway page) go as a whole. The weights are data, rules/despam_model.tsv,
written by tools/train_despam.py from labelled pages.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from operator import add

import regex

from ..rules import RuleError, Rules, parse_number, read_table
from ..stages.normalize import HAN

# LinearModel.probabilities is written out for these four.
LABELS = ("content", "spam_title", "html", "boilerplate")

# Plain character classes in the standard library's engine, which runs them faster.
_SENTENCE_END = re.compile(r"[。!?;]")
_CLAUSE = re.compile(r"[,、:]")
_HAN = re.compile(f"[{HAN}]")
_HAN_RUN = re.compile(f"[{HAN}]{{2,}}")
_LATIN = re.compile(r"[a-z]")
_DIGIT = re.compile(r"\d")
_SYMBOL = regex.compile(r"[\p{P}\p{S}]")
_KEY_VALUE = regex.compile(r"(?:^|\s)[\p{Han}a-z]{1,6}\s?:\s?\S")
_DATE = regex.compile(r"\d{4}\s?[-/.年]\s?\d{1,2}\s?[-/.月]\s?\d{1,2}|\d{1,2}月\d{1,2}日")
_TIME = regex.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_URL = regex.compile(r"https?://|www\.|\.(?:com|cn|net|org|html?|php)\b")
_EMAIL = regex.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = regex.compile(r"(?<!\d)(?:1[3-9]\d{9}|\d{3,4}-\d{7,8}|400-?\d{3}-?\d{4}|\d{8})(?!\d)")
_COUNTER = regex.compile(r"\(\d+\)|\d+\s?(?:次|人|条|赞|阅读|浏览|评论|回复|分享|收藏)")
# What each needs in the line before it is worth a search.
_SIGNALS = (("date", _DATE, "0"), ("time", _TIME, "0"), ("phone", _PHONE, "0"),
            ("counter", _COUNTER, "0"), ("url", _URL, "."), ("email", _EMAIL, "@"))
_DIGITS = regex.compile(r"\d+")
_ENDS_DATE = re.compile(r"\d{1,4}[-/.月]\d{1,2}日?\)?$")
# Lines up to this long get their first and last letters as features (a site's name, a button).
EDGE_MAX_CHARS = 20
# Lines up to this long get their character pairs as features (chrome is short; paragraphs would
# only add topic words).
WORDS_MAX_CHARS = 40
SHAPE_CHARS = 100
# Stage 0 reads the character pairs of a page's first PAGE_WORDS_CHARS letters (its opening says
# what it is about, and the cost of a page stays bounded).
PAGE_WORDS_CHARS = 500
# Features that mean something else above the article, inside it, below it or on a page without
# one: each is also given crossed with the line's place (e.g. "after*len_le30").
_BY_PLACE = ("len_le12", "len_le30", "len_ge80", "sentence_end", "clause_punct", "key_value",
             "date", "time", "short_word_row", "repeated", "bars", "url", "counter", "template",
             "topic_none", "topic_half", "ends_ellipsis", "ends_date")


@dataclass(frozen=True)
class LineEvidence:
    """What the hand-written rules found on one line (despam.py fills it)."""
    spam_score: float = 0.0  # sum of lexicon weights of the hits
    strong_hits: int = 0
    coverage: float = 0.0  # share of the line's letters the hits cover
    spam_segment_share: float = 0.0
    rule_spam: bool = False  # the lexicon thresholds of despam.toml say spam_title
    pattern_kind: str = ""  # the boilerplate.txt kind that matched, "" when none
    pattern_coverage: float = 0.0  # the share of the line the match covers
    zone: str = ""  # the page-zone rule that marks the line as chrome, "" when none
    template: int = 0  # the records of the page's site that hold the line (templates.py)


def _share(pattern, text: str) -> float:
    return (len(text) - len(pattern.sub("", text))) / len(text) if text else 0.0


def shape_features(normalised: str, compact: str, masked_text: str) -> dict[str, float]:
    """The line's own shape, on its normalised view (NFKC, Simplified, lower case; `masked_text`
    is `compact` with digits masked). Shares and patterns are read from the first SHAPE_CHARS
    characters: a long line is a paragraph whatever its tail holds, and the cost of a line stays
    bounded."""
    n = len(compact)
    if n > SHAPE_CHARS:
        normalised, compact = normalised[:SHAPE_CHARS], compact[:SHAPE_CHARS]
    f: dict[str, float] = {"bias": 1.0, "len_log": math.log1p(n) / 6}
    if n <= WORDS_MAX_CHARS:
        # The words of chrome are much the same on every site (登录, 评论, 返回, 上一篇, read
        # more): the character pairs of a short line, digits masked, each a feature.
        for k in range(len(masked_text) - 1):
            f["w:" + masked_text[k:k + 2]] = 1.0
    for limit in (4, 12, 30):
        if n <= limit:
            f[f"len_le{limit}"] = 1.0
    for limit in (80, 200):
        if n >= limit:
            f[f"len_ge{limit}"] = 1.0
    f["han"] = _share(_HAN, compact)
    f["latin"] = _share(_LATIN, compact)
    f["digit"] = _share(_DIGIT, compact)
    f["symbol"] = _share(_SYMBOL, compact)
    if _SENTENCE_END.search(normalised):
        f["sentence_end"] = 1.0
        if _SENTENCE_END.match(compact[-1:]) or compact.endswith(("…", "...", "\"", "”")):
            f["ends_sentence"] = 1.0
    # A line's edges: how a site's name ends (网, 报), a teaser cut short (...), a headline
    # listed with its date.
    if n <= EDGE_MAX_CHARS:
        f["first:" + masked_text[:1]] = 1.0
        f["last:" + masked_text[-1:]] = 1.0
    if n <= SHAPE_CHARS:  # the line's own end, not the cut's
        if compact.endswith(("…", "...")):
            f["ends_ellipsis"] = 1.0
        if f["digit"] and _ENDS_DATE.search(compact):  # no digit, no date: skip the search
            f["ends_date"] = 1.0
    if _CLAUSE.search(normalised):
        f["clause_punct"] = 1.0
    if bars := normalised.count("|"):
        f["bars"] = min(bars, 4) / 4
    if unders := normalised.count("_"):
        f["underscores"] = min(unders, 4) / 4
    if ">" in normalised or "»" in normalised or "::" in normalised:
        f["breadcrumb_sep"] = 1.0
    words = normalised.split(" ")
    if len(words) >= 3 and max(map(len, words)) <= 6 and "sentence_end" not in f:
        f["short_word_row"] = 1.0
    if fields := len(_KEY_VALUE.findall(normalised)):
        f["key_value"] = 1.0
        if fields >= 2:
            f["key_values"] = 1.0
        if _KEY_VALUE.match(normalised):
            f["starts_key_value"] = 1.0
    has = {"0": f["digit"] > 0, ".": "." in normalised, "@": "@" in normalised}
    for name, pattern, needs in _SIGNALS:
        if has[needs] and pattern.search(normalised):
            f[name] = 1.0
    return f


def add_rule_features(f: dict[str, float], e: LineEvidence) -> dict[str, float]:
    """`f` with the rules' evidence on the line added."""
    if e.spam_score:
        f["spam_score"] = min(e.spam_score, 6.0) / 6
        f["spam_strong"] = min(e.strong_hits, 3) / 3
        f["spam_coverage"] = e.coverage
        f["spam_segments"] = e.spam_segment_share
    if e.rule_spam:
        f["rule_spam"] = 1.0
    if e.pattern_kind:
        most = e.pattern_coverage >= 0.5
        f[f"pattern_{e.pattern_kind}_{'most' if most else 'part'}"] = 1.0
        f["pattern_chrome" if most else "pattern_part"] = 1.0
    if e.zone:
        f[f"zone_{e.zone}"] = 1.0
    if e.template >= 2:  # another record of the site holds it: the site's template
        f["template"] = 1.0
        if e.template >= 3:
            f["template_3"] = 1.0
    return f


def page_features(lines: list[str], normalised: list[str], compact: list[str],
                  evidence: list[LineEvidence], paragraph_chars: int) -> list[dict[str, float]]:
    """The features of every line of a page (blank lines get none: they are decided as blank)."""
    count = len(lines)
    shown = [i for i in range(count) if lines[i].strip()]
    masks = [masked(compact[i]) for i in shown]
    own, sentence = {}, {}
    for i, m in zip(shown, masks):
        f = add_rule_features(shape_features(normalised[i], compact[i], m), evidence[i])
        if "sentence_end" in f and len(compact[i]) >= paragraph_chars:
            f["paragraph"] = 1.0
        own[i] = f
        sentence[i] = "sentence_end" in f and len(compact[i]) >= paragraph_chars // 3
    start, end = _body(shown, sentence, compact)
    times = Counter(masks)
    # The body's pairs, and those two of its lines or more hold (a body line's own aside); a
    # page without a body gets no topic features, so its lines' pairs are not made.
    words: list[frozenset[str]] = []
    in_body: set[str] = set()
    in_two: set[str] = set()
    if start is not None:
        words = [han_pairs(compact[i]) for i in shown]
        for k in range(start, end + 1):
            in_two |= words[k] & in_body
            in_body |= words[k]
    features: list[dict[str, float]] = [{} for _ in range(count)]
    for k, i in enumerate(shown):
        # The page features are added to the line's own: a neighbour reads only own features
        # (rule_spam, pattern_chrome, len_le12), which these never are.
        f = own[i]
        f["position"] = i / max(count - 1, 1)
        if k == 0:
            f["first_line"] = 1.0
        if start is None:
            place = "no_body"
        elif k < start:
            place = "before_body"
            f["body_distance"] = math.log1p(start - k) / 3
        elif k > end:
            place = "after_body"
            f["body_distance"] = math.log1p(k - end) / 3
        else:
            place = "in_body"
        f[place] = 1.0
        if start is not None and words[k]:
            # The share of the line's words the body uses too (another line of it, for its own).
            shared = len(words[k] & (in_two if start <= k <= end else in_body)) / len(words[k])
            f["topic"] = shared
            if shared == 0:
                f["topic_none"] = 1.0
            elif shared >= 0.5:
                f["topic_half"] = 1.0
        if start is not None and k == start - 1:
            f["just_above_body"] = 1.0
        repeated = times[masks[k]]
        if repeated >= 2 and len(compact[i]) >= 2:
            f["repeated"] = 1.0
            if repeated >= 3:
                f["repeated_3"] = 1.0
        for side, j in (("prev", k - 1), ("next", k + 1)):
            if 0 <= j < len(shown):
                other = own[shown[j]]
                if sentence[shown[j]]:
                    f[f"{side}_sentence"] = 1.0
                if "rule_spam" in other:
                    f[f"{side}_rule_spam"] = 1.0
                if "pattern_chrome" in other:
                    f[f"{side}_pattern"] = 1.0
                if "len_le12" in other:
                    f[f"{side}_short"] = 1.0
            else:
                f[f"{side}_none"] = 1.0
        for name in _BY_PLACE:
            if name in f:
                f[f"{place}*{name}"] = 1.0
        if evidence[i].pattern_kind:
            for name in ("pattern_part", "pattern_chrome"):
                if name in f:
                    f[f"{place}*{name}"] = 1.0
        features[i] = f
    return features


def han_pairs(compact_text: str) -> frozenset[str]:
    """The pairs of Han characters in the first SHAPE_CHARS characters of a line: the words it
    shares with the article, whatever the site."""
    pairs: set[str] = set()
    for run in _HAN_RUN.findall(compact_text[:SHAPE_CHARS]):
        pairs.update(map(add, run, run[1:]))
    return frozenset(pairs)


def compact(normalised: str) -> str:
    """A normalised line without its spaces."""
    return normalised.replace(" ", "")


def masked(text: str) -> str:
    """A line's compact view with its digits masked: copies that differ in a date or a count
    are one line."""
    return _DIGITS.sub("0", text)


def page_words(compact: list[str]) -> frozenset[str]:
    """What stage 0 reads: the distinct character pairs inside the lines of the page's opening,
    digits masked."""
    pairs: set[str] = set()
    for line in _DIGITS.sub("0", "\n".join(compact)[:PAGE_WORDS_CHARS]).split("\n"):
        pairs.update(map(add, line, line[1:]))
    return frozenset(pairs)


def page_word_features(words: frozenset[str]) -> dict[str, float]:
    """Stage 0's features (as tools/train_despam.py fits them): each pair valued 1/sqrt(their
    number), so that a long page weighs no more than a short one, and a bias."""
    features = dict.fromkeys(("p:" + pair for pair in words), _pair_value(words))
    features["bias"] = 1.0
    return features


def _pair_value(words: frozenset[str]) -> float:
    return 1 / math.sqrt(len(words)) if words else 0.0


def _body(shown: list[int], sentence: dict[int, bool], compact: list[str]
          ) -> tuple[int | None, int]:
    """The article body: the run of shown lines (indices into `shown`) holding the most text of
    sentence-like lines, where up to two other lines may sit between two sentence-like ones."""
    best, best_chars = (None, -1), 0
    run_start, last, chars = None, -10, 0
    for k, i in enumerate(shown):
        if not sentence[i]:
            continue
        if run_start is None or k - last > 3:
            run_start, chars = k, 0
        chars += len(compact[i])
        last = k
        if chars > best_chars:
            best, best_chars = (run_start, k), chars
    return best


class LinearModel:
    """Softmax regression weights per feature and label, read from a TSV of
    stage <TAB> feature <TAB> weight per label (LABELS order). Stage 0 (the page's words) is
    optional: a model without it reads no words."""

    def __init__(self, weights: dict[str, dict[str, list[float]]]):
        self.weights = weights  # stage ("0", "1", "2") -> feature -> weights per label
        # Stage 0 reads hundreds of pairs a page, in a set's order, which changes from run to
        # run: a sum of floats in that order would too. Each pair's four weights are whole
        # ten-thousandths (the file's precision) packed into one integer, a field a label, so
        # that one sum adds all four exactly.
        self._packed_pairs = {name[2:]: _pack(w) for name, w in weights.get("0", {}).items()
                              if name.startswith("p:")}
        self._known_pairs = frozenset(self._packed_pairs)
        self._page_bias = weights.get("0", {}).get("bias", [0.0] * len(LABELS))

    @classmethod
    def load(cls, rules: Rules, name: str = "despam_model.tsv") -> "LinearModel":
        """The last file of that name (a user's --rules DIR before the shipped one): a model is
        replaced whole, never merged row by row with another."""
        files = rules.files(name)
        if not files:
            raise RuleError(f"{name}: no model in {', '.join(map(str, rules.dirs))}")
        weights: dict[str, dict[str, list[float]]] = {"0": {}, "1": {}, "2": {}}
        for row in read_table(files[-1], 2 + len(LABELS), 2 + len(LABELS)):
            stage, feature, *values = row.fields
            if stage not in weights:
                raise row.error(f"stage must be 0, 1 or 2, found {stage!r}")
            numbers = weights[stage][feature] = [parse_number(row, v) for v in values]
            if stage == "0" and max(map(abs, numbers)) > MAX_WEIGHT:
                raise row.error(f"a stage-0 weight must lie within ±{MAX_WEIGHT:g}")
        if not weights["1"] or not weights["2"]:
            raise RuleError(f"{files[-1]}: weights of stage 1 and stage 2 are both needed")
        return cls(weights)

    @staticmethod
    def probabilities(weights: dict[str, list[float]], features: dict[str, float]) -> list[float]:
        # Written out for the four labels: the hottest loop of despam.
        s0 = s1 = s2 = s3 = 0.0
        for name, value in features.items():
            w = weights.get(name)
            if w is not None:
                s0 += w[0] * value
                s1 += w[1] * value
                s2 += w[2] * value
                s3 += w[3] * value
        top = max(s0, s1, s2, s3)
        e0, e1, e2, e3 = (math.exp(s0 - top), math.exp(s1 - top), math.exp(s2 - top),
                          math.exp(s3 - top))
        total = e0 + e1 + e2 + e3
        return [e0 / total, e1 / total, e2 / total, e3 / total]

    def page_shares(self, words: frozenset[str]) -> list[float] | None:
        """Stage 0: the share of each label expected on a page of these words (page_words);
        None for a model without stage 0. The same as probabilities(weights["0"],
        page_word_features(words))."""
        if not self.weights.get("0"):
            return None
        found = words & self._known_pairs  # a set: it walks the smaller of the two
        sums = _unpack(sum(map(self._packed_pairs.__getitem__, found)), len(found))
        value = _pair_value(words) / 10_000
        scores = [b + value * s for b, s in zip(self._page_bias, sums)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = math.fsum(exps)
        return [e / total for e in exps]

    def predict(self, features: list[dict[str, float]], shares: list[float] | None
                ) -> list[list[float] | None]:
        """Stage 1 then stage 2 for every line of a page (None where a line has no features),
        given stage 0's shares for the page (page_shares)."""
        return [self.probabilities(self.weights["2"], f) if f else None
                for f in self.stage_two_inputs(features, shares)]

    def stage_two_inputs(self, features: list[dict[str, float]], shares: list[float] | None
                         ) -> list[dict[str, float]]:
        first = [self.probabilities(self.weights["1"], f) if f else None for f in features]
        return smoothing_features(first, shares)


# A packed weight: a FIELD_BITS-bit field a label, each holding the weight in ten-thousandths
# plus OFFSET (so that it is never negative); a sum of up to 2**(FIELD_BITS - 53) packed weights
# keeps its fields apart, far more than the pairs of PAGE_WORDS_CHARS characters.
FIELD_BITS = 72
OFFSET = 1 << 52
MAX_WEIGHT = (OFFSET - 1) / 10_000


def _pack(weights: list[float]) -> int:
    w0, w1, w2, w3 = (round(w * 10_000) + OFFSET for w in weights)
    return w0 | w1 << FIELD_BITS | w2 << 2 * FIELD_BITS | w3 << 3 * FIELD_BITS


def _unpack(packed: int, count: int) -> list[int]:
    """The sum per label of `count` packed weights."""
    mask = (1 << FIELD_BITS) - 1
    return [((packed >> (FIELD_BITS * c)) & mask) - count * OFFSET for c in range(len(LABELS))]


def smoothing_features(first: list[list[float] | None], shares: list[float] | None
                       ) -> list[dict[str, float]]:
    """Stage 2's input: a line's stage-1 probabilities, its shown neighbours', the mean over
    the three shown lines either side and the mean over the page; and the shares of each label
    stage 0 expects from the page's words (None: no stage 0). Means by math.fsum, exact: the
    built-in sum of floats rounds differently from Python 3.12 on."""
    probs = [p for p in first if p is not None]
    out: list[dict[str, float]] = [{} for _ in first]
    shown = [i for i, p in enumerate(first) if p is not None]
    last = len(probs) - 1
    # The page as a whole: a doorway page is spam from top to bottom.
    page = [math.fsum(p[c] for p in probs) / len(probs) for c in range(len(LABELS))] \
        if probs else []
    for k, i in enumerate(shown):
        f = {"bias": 1.0}
        own = probs[k]
        prev = probs[k - 1] if k > 0 else None
        after = probs[k + 1] if k < last else None
        window = probs[max(k - 3, 0):k] + probs[k + 1:k + 4]
        for c, (own_key, prev_key, next_key, around_key, page_key, words_key) in \
                enumerate(_SMOOTHING_KEYS, 1):
            f[own_key] = own[c]
            f[page_key] = page[c]
            if shares is not None:
                f[words_key] = shares[c]
            if prev is not None:
                f[prev_key] = prev[c]
            if after is not None:
                f[next_key] = after[c]
            if window:
                f[around_key] = math.fsum(p[c] for p in window) / len(window)
        out[i] = f
    return out


_SMOOTHING_KEYS = [(f"own_{label}", f"prev_{label}", f"next_{label}", f"around_{label}",
                    f"page_{label}", f"words_{label}") for label in LABELS[1:]]


def contributions(weights: dict[str, list[float]], features: dict[str, float], label: str,
                  top: int = 4) -> str:
    """The features that pushed a line most towards `label` against content (for explain)."""
    c = LABELS.index(label)
    scored = [(value * (weights[name][c] - weights[name][0]), name)
              for name, value in features.items() if name in weights and name != "bias"]
    scored.sort(reverse=True)
    return " ".join(f"{name}+{s:.1f}" for s, name in scored[:top] if s > 0)

