"""The Ray engine's config, and the cluster a job runs on: an existing one, or a local one on loopback.

``--ray-address`` names a running cluster (``ray start --head`` prints it); without one a
single-node cluster is started in this process for the job and stopped after it. That local
node keeps all of its traffic on 127.0.0.1: Ray replaces a node address of 127.0.0.1 by the
machine's routable address, and its gRPC servers then listen on every interface, unless Ray's
single-node mode is on (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which makes the node address
the loopback one; it only changes how the node picks its own address). The dashboard is off,
and so are usage stats.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

LOOPBACK = "127.0.0.1"
NO_RAY = "--engine ray needs the ray extra: pip install -e '.[ray]' (or run with --engine local)"
# Set before Ray starts: no usage stats; a local node addressed (and listening) on loopback only.
LOCAL_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _h(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class EngineConfig:
    """Where a per-pair stage runs: in this process (local), or as a Ray Data job over Lance fragments."""

    engine: Literal["local", "ray"] = field(
        default="local", metadata=_h("local: this process; ray: a Ray Data job over the table's Lance fragments")
    )
    ray_address: str | None = field(
        default=None,
        metadata=_h("Ray cluster to join (HOST:PORT or auto); default: start a local one on 127.0.0.1 for the job"),
    )
    ray_cpus: int | None = field(default=None, metadata=_h("CPUs of the local cluster (default: all of them)"))
    ray_actors: int = field(default=2, metadata=_h("actors running the stage (each loads the model once)"))
    ray_actor_cpus: float = field(
        default=0.75, metadata=_h("CPUs each actor reserves (fractional: leave room for the read tasks)")
    )
    ray_actor_gpus: float = field(default=0.0, metadata=_h("GPUs each actor reserves (fractions allowed, e.g. 0.5)"))
    ray_read_cpus: float = field(
        default=0.25, metadata=_h("CPUs each fragment read task reserves (fractional: reads must not starve actors)")
    )
    ray_batch_rows: int = field(default=512, metadata=_h("rows per call of the stage"))
    ray_file_rows: int = field(
        default=65_536, metadata=_h("rows per data file the workers write (stages whose rows land as files)")
    )
    ray_retries: int = field(
        default=3, metadata=_h("restarts of a dead actor, and retries of its batch on another try (-1: unlimited)")
    )

    @property
    def threads(self) -> int:
        """Torch threads per actor: the whole CPUs it reserved, at least one."""
        return max(1, int(self.ray_actor_cpus))


@contextlib.contextmanager
def ray_cluster(config: EngineConfig) -> Iterator[None]:
    """Connect to ``config.ray_address``, or start a local loopback cluster; stop what was started here.

    A Ray session that is already open in this process (a test's cluster) is used as it is.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not config.ray_address:  # read when ray is first imported; a driver joining a cluster needs its real address
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        from ray._private import ray_constants
    except ImportError as exc:
        raise ValueError(NO_RAY) from exc

    if ray.is_initialized():
        yield
        return
    if not config.ray_address and ray_constants.ENABLE_RAY_CLUSTER:
        raise RuntimeError(
            "ray was imported before RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was set: a local cluster would listen on "
            "every interface. Set the variable before importing ray, or pass --ray-address"
        )
    if config.ray_address:
        ray.init(address=config.ray_address, log_to_driver=False)
    else:
        ray.init(
            address="local",
            num_cpus=config.ray_cpus,
            _node_ip_address=LOOPBACK,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        yield
    finally:
        ray.shutdown()
