"""`zhclean run --engine ray`: the same record functions on Ray Data, beyond one machine.

Every input file is a shard. Ray Data hands each shard's path to a pool of CleanShards actors,
which build the stages once and then read the file with the local engine's reader
(pipeline.readers.read_inputs: format sniffing, decompression, encoding detection, input errors
as rejects) and clean and serialise exactly as the local engine does. A shard that cannot be read
to its end (a truncated .gz) keeps the records read before the error; the error is reported by the
driver on stderr and counted, as the local engine does. Each shard gives two files, written
atomically, named after its position among the inputs so that `cat DIR/*.jsonl` is the local
engine's output:

    OUT_DIR/00000-name.jsonl            the records
    REJECTS_DIR/00000-name.rejects.jsonl  what was dropped, with reasons

Paths must be visible to every node of the cluster (a shared file system); relative paths are
resolved against the driver's working directory, so that records keep the path as the user gave
it (their source, and the ids derived from it), exactly as on the local engine.
"""
from __future__ import annotations

import json
import logging
import os

import ray
import ray.data

from ..readers import COMPRESSIONS, FieldMap, read_inputs
from ..records import Reject
from ..runner import Stats, report, run_stream
from ..stages import Settings, named_stages
from ..writers import JsonlWriter


def run(paths: list[str], stage_names: tuple[str, ...], settings: Settings, fields: FieldMap,
        output_dir: str, rejects_dir: str, address: str | None) -> Stats:
    """Clean the input files on Ray; returns the merged counts."""
    started_here = not ray.is_initialized()
    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False,
             logging_level=logging.WARNING, log_to_driver=False)
    try:
        return _run(paths, stage_names, settings, fields, output_dir, rejects_dir)
    finally:
        if started_here:
            ray.shutdown()


def _run(paths, stage_names, settings, fields, output_dir, rejects_dir) -> Stats:
    os.makedirs(output_dir)  # new directories: shards of an earlier run never mix in
    os.makedirs(rejects_dir)
    if not paths:  # directories without inputs: empty output, as on the local engine
        return Stats()
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-run execution plans
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    actors = ray.data.ActorPoolStrategy(min_size=1, max_size=cpus)
    shards = [{"path": p, "name": shard_name(i, p)} for i, p in enumerate(paths)]
    dataset = ray.data.from_items(shards, override_num_blocks=len(shards)).map_batches(
        CleanShards, batch_size=1, compute=actors,
        fn_constructor_args=(stage_names, settings, fields, os.getcwd(),
                             os.path.abspath(output_dir), os.path.abspath(rejects_dir)))
    stats = Stats()
    for row in dataset.iter_rows():
        shard = Stats(row["records_in"], row["records_out"], row["input_errors"])
        shard.rejects.update({(s, r): n for s, r, n in json.loads(row["rejects"])})
        stats.merge(shard)
        for reject in json.loads(row["errors"]):
            report(Reject(reject))
    return stats


def shard_name(position: int, path: str) -> str:
    base = os.path.basename(path)
    for suffix in COMPRESSIONS:
        base = base.removesuffix(suffix)
    return f"{position:05d}-{os.path.splitext(base)[0]}"


class CleanShards:
    """A Ray Data actor: stages built once; each row is one input file's path."""

    def __init__(self, stage_names, settings: Settings, fields: FieldMap, cwd: str,
                 output_dir: str, rejects_dir: str):
        os.chdir(cwd)  # an actor process of its own: relative paths as the driver sees them
        self.stages = named_stages(stage_names, settings)
        self.fields = fields
        self.output_dir = output_dir
        self.rejects_dir = rejects_dir

    def __call__(self, batch: dict) -> dict:
        rows: dict = {"records_in": [], "records_out": [], "input_errors": [], "rejects": [],
                      "errors": []}
        for path, name in zip(batch["path"], batch["name"]):
            stats, errors = self.clean(str(path), str(name))
            rows["records_in"].append(stats.records_in)
            rows["records_out"].append(stats.records_out)
            rows["input_errors"].append(stats.input_errors)
            rows["rejects"].append(json.dumps([[s, r, n] for (s, r), n in stats.rejects.items()]))
            rows["errors"].append(json.dumps(errors, ensure_ascii=False))
        return rows

    def clean(self, path: str, name: str) -> tuple[Stats, list[Reject]]:
        """One shard through the stages; input errors are returned for the driver to report."""
        stats, errors = Stats(), []
        with JsonlWriter(os.path.join(self.output_dir, name + ".jsonl")) as out, \
                JsonlWriter(os.path.join(self.rejects_dir, name + ".rejects.jsonl")) as rejects:
            run_stream(read_inputs((path,), self.fields), self.stages, out, rejects, stats,
                       errors.append)
        return stats, errors
