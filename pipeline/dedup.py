"""Duplicate articles, within a run and across runs: exact copies and near copies.

A record's text is normalised (NFKC, case-folded, only letters and digits kept: punctuation,
spaces and symbols go), then

    exact   its BLAKE2b hash was seen before                        -> reason "duplicate"
    near    the estimated Jaccard similarity of its character n-gram set (default 5-grams) with an
            earlier record reaches --near-dup-threshold (default 0.5)  -> reason "near_duplicate"

The title is not compared: a copy under another headline is still a copy. The first record seen is
kept; a later copy goes to the rejects with `duplicate_of` (the kept record's id) and, for a near
copy, `similarity`. Texts shorter than MIN_NEAR_CHARS normalised characters are only compared
exactly: a handful of n-grams gives a meaningless similarity.

Near copies are found with MinHash LSH: a datasketch MinHash (128 permutations, the "affine32"
scheme, pinned so that stored signatures stay comparable across versions) is cut into b bands of r
values, b and r chosen by datasketch's MinHashLSH for the threshold. Records sharing a band are
candidates; a candidate counts only when the estimated similarity (the share of equal MinHash
values) reaches the threshold. Signatures and band keys live in SQLite tables (the --state
database, or an in-memory one for a single run), so the index persists across runs without a
rebuild: a lookup is one indexed query. The parameters are stored with the index, the bands and
rows too (they follow the threshold, and band keys cut another way never match); a state built
with other parameters is refused (DedupError) instead of silently comparing unlike signatures or
bands. With 128 permutations datasketch cannot band a threshold above about 0.987 (fewer than two
bands): the highest near threshold is MAX_NEAR_THRESHOLD, and 1 turns near detection off.

The deduper is called in the parent process on results in input order, so --jobs N gives the
same keep/reject decisions as --jobs 1. It writes only inside the caller's open transaction:
pipeline/state.py commits it together with the outputs.
"""
from __future__ import annotations

import hashlib
import sqlite3
import unicodedata
from dataclasses import dataclass

import numpy as np
import regex

from .readers import parsed_line
from .records import record_reject
from .writers import dumps

STAGE = "dedup"
NUM_PERM = 128
SCHEME = "affine32"
SEED = 1
MIN_NEAR_CHARS = 50
MAX_NEAR_THRESHOLD = 0.98  # with NUM_PERM: the highest that datasketch cuts into >= 2 bands
_NOT_WORD = regex.compile(r"[^\p{L}\p{N}]+")
# An odd 64-bit multiplier for the n-gram rolling hash (fixed: they decide the stored signatures).
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)

SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup_params (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_exact (hash BLOB PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedup_doc (doc INTEGER PRIMARY KEY, id TEXT NOT NULL, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_band (key INTEGER NOT NULL, doc INTEGER NOT NULL,
                                       PRIMARY KEY (key, doc)) WITHOUT ROWID;
"""


class DedupError(Exception):
    """The dedup index in a state was built with other parameters."""


@dataclass(frozen=True)
class DedupOptions:
    near_threshold: float = 0.5  # 0 < t <= MAX_NEAR_THRESHOLD, or 1.0: near detection off
    ngram: int = 5

    def __post_init__(self):
        t = self.near_threshold
        if not (0 < t <= MAX_NEAR_THRESHOLD or t == 1):
            raise ValueError(f"near-duplicate threshold {t}: give 0 < T <= {MAX_NEAR_THRESHOLD}, "
                             f"or 1 to find exact copies only")


def normalise(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def exact_key(normalised: str) -> bytes:
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).digest()


def ngram_hashes(normalised: str, n: int) -> np.ndarray:
    """32-bit hashes of the distinct character n-grams, vectorised (a Python loop per n-gram
    would dominate the run)."""
    points = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(points) - n + 1
    h = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around modulo 2**64 is the point
        for k in range(n):
            h = h * _MULTIPLIER + points[k:k + count] + np.uint64(1)
        h ^= h >> np.uint64(29)
        h *= _MULTIPLIER
        h ^= h >> np.uint64(32)
    return np.unique((h & np.uint64(0xFFFFFFFF)).astype(np.uint32))


class Signer:
    """MinHash signatures from datasketch, with the permutations computed once."""

    def __init__(self, ngram: int):
        from datasketch import MinHash  # imports scipy: only when deduplication is on

        self._minhash = MinHash
        self._template = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
        self.ngram = ngram

    def sign(self, normalised: str) -> np.ndarray:
        m = self._minhash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME,
                          permutations=self._template.permutations, hashfunc=int)
        m.update_batch(ngram_hashes(normalised, self.ngram).tolist())
        return m.hashvalues.astype("<u4")


def lsh_bands(threshold: float) -> tuple[int, int]:
    """(bands, rows) for the threshold, weighted towards recall: candidates are verified anyway."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=(0.3, 0.7))
    return lsh.b, lsh.r


class Deduper:
    """`record -> (record | None, rejects)` over an SQLite connection the caller commits."""

    def __init__(self, conn: sqlite3.Connection, options: DedupOptions = DedupOptions()):
        self.conn = conn
        self.options = options
        self.near = options.near_threshold < 1.0
        _create(conn)
        if self.near:
            self.signer = Signer(options.ngram)
            self.bands, self.rows = lsh_bands(options.near_threshold)
        self._check_params()

    def _check_params(self) -> None:
        params = {"ngram": str(self.options.ngram), "num_perm": str(NUM_PERM), "scheme": SCHEME,
                  "seed": str(SEED), "normalise": "nfkc-casefold-letters-digits",
                  # an index without signatures (near detection off) cannot find near copies
                  "near_dup_bands_x_rows": f"{self.bands}x{self.rows}" if self.near else "off"}
        stored = dict(self.conn.execute("SELECT name, value FROM dedup_params"))
        if not stored:
            self.conn.executemany("INSERT INTO dedup_params VALUES (?, ?)", params.items())
        elif stored != params:
            differ = ", ".join(f"{k}={stored.get(k)} (now {v})" for k, v in params.items()
                               if stored.get(k) != v)
            raise DedupError(f"the state's duplicate index was built with other parameters: "
                             f"{differ}; use a new --state file or the same options")

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        text = normalise(record["text"])
        key = exact_key(text)
        row = self.conn.execute("SELECT id FROM dedup_exact WHERE hash = ?", (key,)).fetchone()
        if row:
            return None, [record_reject(record, STAGE, "duplicate", duplicate_of=row[0])]
        near = self.near and len(text) >= MIN_NEAR_CHARS
        if near:
            sig = self.signer.sign(text)
            keys = self._band_keys(sig)
            match = self._nearest(sig, keys)
            if match:
                return None, [record_reject(record, STAGE, "near_duplicate",
                                            duplicate_of=match[0], similarity=match[1])]
        self.conn.execute("INSERT INTO dedup_exact VALUES (?, ?)", (key, record["id"]))
        if near:
            doc = self.conn.execute("INSERT INTO dedup_doc (id, sig) VALUES (?, ?)",
                                    (record["id"], sig.tobytes())).lastrowid
            self.conn.executemany("INSERT OR IGNORE INTO dedup_band VALUES (?, ?)",
                                  ((k, doc) for k in keys))
        return record, []

    def _band_keys(self, sig: np.ndarray) -> list[int]:
        r = self.rows
        return [int.from_bytes(hashlib.blake2b(bytes([i]) + sig[i * r:(i + 1) * r].tobytes(),
                                               digest_size=8).digest(), "little", signed=True)
                for i in range(self.bands)]

    def _nearest(self, sig: np.ndarray, keys: list[int]) -> tuple[str, float] | None:
        """The most similar earlier record at or above the threshold (the earliest on a tie)."""
        marks = ",".join("?" * len(keys))
        rows = self.conn.execute(
            f"SELECT doc, id, sig FROM dedup_doc WHERE doc IN "
            f"(SELECT doc FROM dedup_band WHERE key IN ({marks})) ORDER BY doc", keys).fetchall()
        best = None
        for _, rec_id, blob in rows:
            similarity = float(np.mean(np.frombuffer(blob, dtype="<u4") == sig))
            if similarity >= self.options.near_threshold and (best is None or similarity > best[1]):
                best = (rec_id, round(similarity, 3))
        return best


def _create(conn: sqlite3.Connection) -> None:
    # executescript would COMMIT the caller's open transaction: run the statements one by one.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


class DedupFilter:
    """Stands in for the output writer, so deduplication sees every output record in input order
    whether the records come one by one (`run_stream`) or as JSONL bytes from worker processes
    (`--jobs N`): a kept record goes on (the same bytes), a duplicate goes to the rejects and the
    counts move from records_out to the dedup rejects."""

    def __init__(self, deduper: Deduper, out, rejects_out, stats):
        self.deduper = deduper
        self.out = out
        self.rejects_out = rejects_out
        self.stats = stats

    def write(self, record: dict) -> None:
        # Serialised first: a record that cannot be written (Unwritable) never enters the index,
        # as with --jobs N, whose workers serialise before the parent deduplicates.
        line = dumps(record)
        if self._keep(record):
            self.out.write_bytes(line)

    def write_bytes(self, line: bytes) -> None:
        """One record serialised by a worker."""
        if self._keep(parsed_line(line)[0]):
            self.out.write_bytes(line)

    def _keep(self, record: dict) -> bool:
        kept, rejects = self.deduper(record)
        for reject in rejects:
            self.stats.records_out -= 1
            self.stats.rejects[reject["stage"], reject["reason"]] += 1
            self.rejects_out.write(reject)
        return kept is not None
