"""Fixtures of the Ray engine tests: one real local 2-CPU Ray cluster per module, on loopback only.

The cluster is started by the fixture (node address 127.0.0.1, Ray's single-node mode so that
its gRPC servers listen on loopback, no dashboard, no usage stats). A thread samples the
listening sockets of every process of the cluster while the module runs; at teardown the test
asserts that each was on loopback, stops the cluster and asserts that no Ray process remains.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from pipelines.scale.cluster import LOCAL_ENV, LOOPBACK

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_helpers import WORDS, SocketWatch, is_loopback, make_run, pair_rows

for _key, _value in LOCAL_ENV.items():  # before ray is imported anywhere: read at import
    os.environ[_key] = _value
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rm"))  # rm_tiny_models

N_PAIRS = 20_000
NO_RAY = "the ray extra is not installed: pip install -e '.[ray]' (make test installs it)"


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray cluster with 2 CPUs on 127.0.0.1, stopped (and checked) by the fixture itself."""
    ray = pytest.importorskip("ray", reason=NO_RAY)
    import psutil

    assert not ray.is_initialized()
    # children that exist before the cluster (a session's llama.cpp server, say) are not Ray's
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    ray.init(address="local", num_cpus=2, _node_ip_address=LOOPBACK, include_dashboard=False, log_to_driver=False)
    watch = SocketWatch()
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()
        ray.shutdown()
    ray_pids = watch.pids - {os.getpid()} - before
    deadline = time.monotonic() + 30
    alive = [p for p in ray_pids if psutil.pid_exists(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in alive if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"ray processes still running after ray.shutdown(): {alive}"
    left = [p.name() for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    assert not [n for n in left if n.startswith(("ray", "gcs_server"))], f"ray processes left: {left}"
    names = set(watch.seen.values())  # the watch saw the cluster's servers and the tests' actors
    actors = ("ray::MapWorker", "ray::CacheServer")  # a stage's actors; the cache server when a test runs alone
    assert {"gcs_server", "raylet"} <= names and any(n.startswith(actors) for n in names), names
    exposed = {k: v for k, v in watch.seen.items() if not is_loopback(k[1])}
    assert not exposed, f"cluster sockets listening beyond loopback: {exposed}"


@pytest.fixture(scope="session")
def pairs_20k():
    """A ``pairs`` table of 20,000 distinct pairs (two thirds of the chosen sides say GOOD)."""
    from lake.records import pairs_table

    return pairs_table(pair_rows(N_PAIRS))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder (config.json + checkpoint) holding a tiny random-init decoder reward model."""
    from rm_tiny_models import build_tiny_decoder

    root = tmp_path_factory.mktemp("run")
    texts = [*WORDS, "tell me about and number are lovely go well with no i refuse to talk more really , ."]
    build_tiny_decoder(texts, root / "tiny" / "checkpoint", hidden=32, layers=1)
    return make_run(root / "tiny", "tiny")
