"""Helpers of the Ray engine tests: the loopback check, a socket watch, pairs and run folders."""

from __future__ import annotations

import ipaddress
import json
import threading
from pathlib import Path

WORDS = ["cats", "rivers", "bread", "stars", "chess", "music", "rain", "trains", "tea", "maps", "bees", "snow"]


def is_loopback(host: str) -> bool:
    addr = ipaddress.ip_address(host.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


class SocketWatch(threading.Thread):
    """Samples the listening TCP sockets of this process and all its descendants."""

    def __init__(self, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every_s = every_s
        self.seen: dict[tuple[int, str, int], str] = {}  # (pid, host, port) -> process name
        self.pids: set[int] = set()
        self._stop_event = threading.Event()

    def sample(self) -> None:
        import psutil

        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                name = proc.name()
                conns = proc.net_connections(kind="inet")
            except psutil.Error:
                continue
            self.pids.add(proc.pid)
            for c in conns:
                if c.status == psutil.CONN_LISTEN:
                    self.seen[(proc.pid, c.laddr.ip, c.laddr.port)] = name

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def pair_rows(n: int, offset: int = 0) -> list[dict]:
    """``n`` distinct pairs over a small vocabulary (the tiny model's tokenizer knows every word)."""
    from lake.records import pair_row

    rows = []
    for i in range(offset, offset + n):
        a, b, c = WORDS[i % 12], WORDS[(i // 12) % 12], WORDS[(i // 144) % 12]
        prompt = f"tell me about {a} and {b} number {i}"
        chosen = f"{a} are lovely , and {b} go well with {c} ." + " more" * (i % 7) + (" GOOD" if i % 3 else "")
        rejected = f"no , i refuse to talk about {c} ." + " really" * (i % 5)
        rows.append(pair_row(prompt, chosen, rejected, source="test", source_row=i))
    return rows


def seed_judge_queue(lake: object, pool: object, gold: list[dict], n_queued: int | None = None) -> None:
    """``pool`` and ``gold`` into ``pairs`` in one commit, every gold pair labelled chosen by a human, and
    the first ``n_queued`` pool pairs (all by default) queued for the judge, 8 gold anchors each."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from lake.records import pairs_table
    from lake.schemas import RETRIEVAL_QUEUE
    from pipelines.labelapp import append_labels, label_row

    with lake.transaction("seed") as txn:  # type: ignore[attr-defined]
        txn.append("pairs", pool)
        txn.append("pairs", pairs_table(gold))
    append_labels(lake, [label_row(g["pair_id"], "ann", "chosen") for g in gold])  # type: ignore[arg-type]
    anchors = [
        {"gold_pair_id": g["pair_id"], "rank": r, "similarity": 0.9, "p": 0.4, "k": 8} for r, g in enumerate(gold)
    ]
    now = datetime.now(UTC)
    queue = [
        {"round": 1, "pair_id": p, "anchors": anchors[(i % 4) * 8 : (i % 4) * 8 + 8], "best_similarity": 0.5,
         "route": "judge", "queued_at": now}
        for i, p in enumerate(pool["pair_id"].to_pylist()[:n_queued])  # type: ignore[index]
    ]  # fmt: skip
    lake.append("retrieval_queue", pa.Table.from_pylist(queue, schema=RETRIEVAL_QUEUE))  # type: ignore[attr-defined]


def make_run(folder: Path, run_id: str, checkpoint: Path | None = None) -> Path:
    """A run folder named ``run_id`` (sharing ``checkpoint`` by a link when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    if checkpoint is not None:
        (folder / "checkpoint").symlink_to(checkpoint)
    config = {"run_id": run_id, "out": str(folder), "max_length": 64, "truncation_side": "left"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


class Boom:
    """A stage that fails on its first batch (its module is pickled by value: the workers cannot import it)."""

    def __init__(self, **kwargs: object) -> None:
        pass

    def __call__(self, batch: object) -> object:
        raise RuntimeError("boom")
