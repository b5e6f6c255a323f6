"""A run killed midway and started again pays only for the calls that are missing.

The fake endpoint runs in its own process so that its request count spans both runs;
the client is the real CLI (``prefhouse annotate attributes``) in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lake.records import pair_row, pairs_table
from pipelines.annotate.cache import CallCache

HERE = Path(__file__).resolve().parent


def _count(server: subprocess.Popen) -> int:
    server.stdin.write("count\n")
    server.stdin.flush()
    return int(server.stdout.readline())


def test_kill_then_rerun_pays_only_for_missing_calls(lake):
    n = 30
    lake.append(
        "pairs", pairs_table([pair_row(f"question {i}?", f"yes {i}", f"no {i}", source_row=i) for i in range(n)])
    )
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fake_openai.py"), "0.05"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())
        cmd = [
            sys.executable,
            "-m",
            "prefhouse.cli",
            "--lake",
            str(lake.root),
            "annotate",
            "attributes",
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
            "--concurrency",
            "1",
        ]
        env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _count(server) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        paid_before = _count(server)
        cache = CallCache.for_lake(lake.root)
        cached = cache.count()
        cache.close()
        assert 9 <= cached < n and paid_before - cached <= 1  # at most the one in flight was lost
        assert lake.dataset("attributes").count_rows() == 0  # nothing reached the lake: it lands at the end

        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert _count(server) - paid_before == n - cached  # only the missing calls were asked
        assert lake.dataset("attributes").count_rows(filter="status = 'ok'") == n

        third = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert third.returncode == 0 and '"n_pairs": 0' in third.stdout  # all done: nothing selected
        assert _count(server) - paid_before == n - cached
    finally:
        server.stdin.close()
        server.terminate()
        server.wait()
