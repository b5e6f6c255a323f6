"""The scale-out primitives: a per-row stage as one Ray Data job over a lake table's Lance fragments.

``map_table`` reads the table at the version of the lake commit the job starts from (one read
task per Lance fragment, fractional CPUs), runs the stage in a pool of actors (a callable
class: its model loads once per actor; fractional CPUs/GPUs; a dead actor is restarted and its
batch retried) and streams the stage's output rows back to the driver, which spools them to a
temporary Arrow file outside the lake. The caller then lands them in ONE lake transaction.

Nothing is written to the lake while the job runs, so a failed job leaves the lake as it was
and holds no lock; the lake's writer lock is held only for the final commit, whose failure the
transaction rolls back and reclaims (``Lake.transaction``). The results travel to the driver
because they are small next to the inputs (scores, votes: tens of bytes a pair).

``write_table`` is the other form, for rows too large to funnel through one driver (vectors):
the workers write the stage's rows as Lance data files into a staging folder of the lake
(:meth:`Lake.staging`, never a table) with lance-ray's Lance datasink, and the caller moves
them into a table in its commit (:meth:`Transaction.add_dataset`). Only file metadata reaches
the driver. A failed job leaves its files in the staging folder, which goes with the job (or,
if the driver died, with the next writer's recovery).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lance
import pyarrow as pa

from lake import Lake
from pipelines.scale.cluster import EngineConfig, ray_cluster


@dataclass(frozen=True)
class Stage:
    """A callable class run once per actor: ``cls(**kwargs)`` loads, ``obj(table) -> table`` maps rows."""

    cls: type
    kwargs: dict[str, Any]
    schema: pa.Schema  # of the rows the stage returns
    columns: list[str] | None = None  # input columns to read (default: all)
    filter: str | None = None  # Lance filter pushed into the fragment reads


@dataclass(frozen=True)
class Results:
    """The stage's output rows, spooled on the driver: read them back inside the commit transaction."""

    path: Path
    schema: pa.Schema
    rows: int
    table: str
    read_version: int  # the version of the table the job read

    def reader(self) -> pa.RecordBatchReader:
        return pa.ipc.open_stream(pa.memory_map(str(self.path)))

    def read_all(self) -> pa.Table:
        return self.reader().read_all()


@dataclass(frozen=True)
class Written:
    """The stage's rows as a Lance dataset in a staging folder: add it to a table in the commit."""

    uri: str
    rows: int
    table: str
    read_version: int  # the version of the table the job read


def _dataset(lake: Lake, table: str, at: int | str | None, stage: Stage, config: EngineConfig) -> tuple[Any, int]:
    import ray.data

    with lake.reading_at():  # one commit: the version read is the one recorded
        ds = lake.dataset(table, at)
    if ds.count_rows() == 0:
        return None, ds.version
    data = ray.data.read_lance(
        ds.uri,
        version=ds.version,
        columns=stage.columns,
        filter=stage.filter,
        num_cpus=config.ray_read_cpus,
    )
    return data, ds.version


def _remote_args(config: EngineConfig) -> dict[str, Any]:
    args: dict[str, Any] = {
        "concurrency": config.ray_actors,
        "num_cpus": config.ray_actor_cpus,
        "max_restarts": config.ray_retries,
        "max_task_retries": config.ray_retries,
    }
    if config.ray_actor_gpus:
        args["num_gpus"] = config.ray_actor_gpus
    return args


@contextlib.contextmanager
def map_table(
    lake: Lake, table: str, stage: Stage, config: EngineConfig, at: int | str | None = None
) -> Iterator[Results]:
    """Run ``stage`` over ``table`` (at ``at``, default the committed version); yields its spooled results.

    Starts (or joins) the cluster for the job; the spool is removed when the block ends.
    """
    with tempfile.TemporaryDirectory(prefix="prefhouse-ray-") as tmp, ray_cluster(config):
        spool = Path(tmp) / "results.arrow"
        data, version = _dataset(lake, table, at, stage, config)
        rows = 0
        with pa.OSFile(str(spool), "wb") as sink, pa.ipc.new_stream(sink, stage.schema) as writer:
            if data is not None:
                for batch in _mapped(data, stage, config).iter_batches(batch_size=None, batch_format="pyarrow"):
                    out = batch.select(stage.schema.names).cast(stage.schema)
                    writer.write_table(out)
                    rows += out.num_rows
        yield Results(spool, stage.schema, rows, table, version)


def _mapped(data: Any, stage: Stage, config: EngineConfig) -> Any:
    return data.map_batches(
        stage.cls,
        fn_constructor_kwargs=stage.kwargs,
        batch_size=config.ray_batch_rows,
        batch_format="pyarrow",
        **_remote_args(config),
    )


@contextlib.contextmanager
def write_table(
    lake: Lake,
    table: str,
    stage: Stage,
    config: EngineConfig,
    at: int | str | None = None,
    storage_version: str | None = None,
) -> Iterator[Written]:
    """Run ``stage`` over ``table``; its workers write the rows (``stage.schema``) as Lance files.

    Yields the staging dataset (in the lake's Lance format, or ``storage_version``: the target
    table's) for the caller to add to a table inside its transaction; the folder is removed
    when the block ends, whatever happened.
    """
    import lance_ray

    from lake.store import STORAGE_VERSION

    with lake.staging("ray") as folder, ray_cluster(config):
        path = folder / "rows.lance"
        uri = str(path)
        data, version = _dataset(lake, table, at, stage, config)
        rows = 0
        if data is not None:
            lance_ray.write_lance(  # Ray's own Lance datasink (2.60) does not work with pylance 14
                _mapped(data, stage, config),
                uri,
                schema=stage.schema,
                min_rows_per_file=config.ray_file_rows,
                data_storage_version=storage_version or STORAGE_VERSION,
                ray_remote_args={"num_cpus": config.ray_read_cpus},
            )
            rows = lance.dataset(uri).count_rows() if path.exists() else 0
        yield Written(uri, rows, table, version)
