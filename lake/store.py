"""The lake: a folder of Lance tables with atomic, multi-table commits.

Every table is a Lance dataset (``<root>/<name>.lance``); every write makes a new
Lance version. A small manifest (``<root>/_lake.json``) pins the version of each
table that belongs to the last *committed* lake state. Writers change tables inside
a :class:`Transaction`; only when all of its writes succeed is the manifest replaced
(atomically, by ``os.replace``). A write that crashes leaves newer, uncommitted Lance
versions behind; they are rolled back (restored to the pinned version) by the next
writer, so readers that go through :class:`Lake` never see a half-written ingest.

One writer at a time holds ``<root>/_lock`` (``flock``); readers take no lock and write
nothing: a known table that was never written reads as empty. :meth:`Lake.reading_at`
pins every read of a thread to one lake commit (plus that thread's own later commits), so
a multi-table read never mixes two commits. Files that no committed version references
(a crashed or failed writer's) are reclaimed after a rollback and by :meth:`Lake.reclaim`.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lance
import pyarrow as pa

from lake.errors import LakeError
from lake.ids import SCHEME as IDS_SCHEME
from lake.schemas import TABLES

DEFAULT_ROOT = "lakehouse"
MANIFEST = "_lake.json"
LEGACY_IDS = "blake2b-json"  # the id scheme of lakes written before the manifest recorded one
COMMIT_LOG = "_commits.jsonl"
DIRTY = "_writing"  # present while a transaction runs: a writer that died leaves it behind
STAGING = "_staging"  # folders of jobs writing files before their commit (Lake.staging)
OWNER = ".owner"  # in each staging folder: flock-held by the job while it lives
# Lance file format of new tables. 2.0 writes about 6x and scans about 3x faster than 2.1+ (whose
# string compression makes files ~40% smaller); a curation lake rewrites and scans its tables
# every round, so speed wins by default. Existing tables keep the format they were created with.
STORAGE_VERSION = os.environ.get("PREFHOUSE_LANCE_FORMAT", "2.0")

_thread_lock = threading.RLock()
_held = threading.local()
_reads = threading.local()  # lake root -> the commit this thread's reads are pinned to
_empty_lock = threading.Lock()
_empty: dict[str, lance.LanceDataset] = {}

Data = pa.Table | pa.RecordBatchReader | list[pa.RecordBatch]


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``root`` if given, else ``$PREFHOUSE_LAKE``, else ``./lakehouse``."""
    chosen = root if root is not None else os.environ.get("PREFHOUSE_LAKE", DEFAULT_ROOT)
    return Path(chosen).expanduser().resolve()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Commit:
    """One committed lake state: its number and the version of every table it holds."""

    number: int
    tables: Mapping[str, int]


@dataclass
class ReclaimReport:
    """What :meth:`Lake.reclaim` removed: versions never committed and files no version references."""

    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> versions, files, bytes removed
    staging: int = 0  # staging folders of jobs that died before their commit

    @property
    def bytes_removed(self) -> int:
        return sum(t["bytes"] for t in self.tables.values())


def empty_dataset(table: str) -> lance.LanceDataset:
    """A read-only stand-in for a known table never written: an empty dataset outside every lake."""
    with _empty_lock:
        if table not in _empty:
            folder = Path(tempfile.mkdtemp(prefix="prefhouse-empty-"))
            atexit.register(shutil.rmtree, folder, True)  # the stand-in lives as long as the process
            _empty[table] = lance.write_dataset(TABLES[table].empty_table(), str(folder / f"{table}.lance"))
        return _empty[table]


@dataclass
class Transaction:
    """Writes that land together or not at all. Use :meth:`Lake.transaction`."""

    lake: Lake
    message: str
    pinned_before: dict[str, int | None] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    staged: dict[str, list[Any]] = field(default_factory=dict)  # table -> uncommitted Lance fragments

    def _touch(self, table: str) -> None:
        if table not in self.pinned_before:
            self.pinned_before[table] = self.lake._live_manifest()["tables"].get(table)

    def track(self, table: str) -> Path:
        """Declare that code outside this class (LanceDB, ``ds.merge``) writes ``table``.

        Returns the table's path; call :meth:`record` after the external write.
        """
        self._touch(table)
        return self.lake.path(table)

    def record(self, table: str) -> int:
        """Record the latest Lance version of a tracked table as this transaction's output."""
        self._touch(table)
        version = lance.dataset(str(self.lake.path(table))).version
        self.written[table] = version
        return version

    def _write(self, table: str, data: Data, mode: str, schema: pa.Schema | None) -> int:
        self._touch(table)
        path = self.lake.path(table)
        schema = schema or TABLES.get(table)
        exists = self._exists(table)
        if isinstance(data, list):
            data = pa.Table.from_batches(data, schema=schema)
        if exists and mode == "create":
            raise LakeError(f"table {table!r} already exists at {path}")
        ds = lance.write_dataset(
            data,
            str(path),
            schema=schema,
            mode=mode if exists else ("overwrite" if path.exists() else "create"),
            commit_message=self.message,
            **({} if exists else {"data_storage_version": STORAGE_VERSION}),
        )
        self.written[table] = ds.version
        return ds.version

    def append(self, table: str, data: Data, schema: pa.Schema | None = None) -> int:
        """Append rows; returns the new Lance version."""
        return self._write(table, data, "append", schema)

    def _exists(self, table: str) -> bool:
        return self.lake.path(table).exists() and (self.pinned_before[table] is not None or table in self.written)

    def stage(self, table: str, data: Data, schema: pa.Schema | None = None) -> None:
        """Write rows of ``table`` to data files now; they join the table at :meth:`commit_staged`.

        For rows produced bit by bit over a long write (an ingest's sightings): memory stays
        bounded, and the table still gets one version. Files of a transaction that never
        commits are referenced by no version (Lance's cleanup removes them).
        """
        from lance.fragment import write_fragments

        self._touch(table)
        path = self.lake.path(table)
        version = lance.dataset(str(path)).data_storage_version if self._exists(table) else STORAGE_VERSION
        fragments = write_fragments(data, str(path), schema=schema or TABLES.get(table), data_storage_version=version)
        self.staged.setdefault(table, []).extend(fragments)

    def commit_staged(self, table: str, schema: pa.Schema | None = None) -> int | None:
        """Add the staged files of ``table`` as one new version (None when nothing was staged)."""
        fragments = self.staged.pop(table, [])
        return self._commit_fragments(table, fragments, schema or TABLES[table]) if fragments else None

    def _commit_fragments(self, table: str, fragments: list[Any], schema: pa.Schema, overwrite: bool = False) -> int:
        """One new version of ``table``: ``fragments`` appended, or (new table, ``overwrite``) its only rows."""
        path = str(self.lake.path(table))
        read_version = lance.dataset(path).version if self._exists(table) else None
        if read_version is not None and not overwrite:
            operation: Any = lance.LanceOperation.Append(fragments)
        else:
            operation = lance.LanceOperation.Overwrite(schema, fragments)
        ds = lance.LanceDataset.commit(path, operation, read_version=read_version, commit_message=self.message)
        self.written[table] = ds.version
        return ds.version

    def add_dataset(self, table: str, source: str | os.PathLike[str], overwrite: bool = False) -> int | None:
        """Add the rows of a Lance dataset written outside every table as one new version of ``table``.

        For a job whose workers wrote their rows as files (a Ray job into a :meth:`Lake.staging`
        folder): the data files are moved into the table, not copied, and appended (or, with
        ``overwrite``, replace the table's rows and schema). The source must have the table's
        schema and Lance file format. Returns the new version (None when the source has no rows).
        """
        src = lance.dataset(str(source))
        fragments = [f.metadata for f in src.get_fragments()]
        if not fragments:
            return None
        self._touch(table)
        path = self.lake.path(table)
        exists = self._exists(table)
        if exists:
            target = lance.dataset(str(path))
            if not overwrite and not target.schema.equals(src.schema, check_metadata=False):
                raise LakeError(
                    f"cannot add {source} to {table!r}: schema {src.schema} is not the table's {target.schema}"
                )
            if target.data_storage_version != src.data_storage_version:
                raise LakeError(
                    f"cannot add {source} to {table!r}: Lance format {src.data_storage_version}, "
                    f"the table's is {target.data_storage_version}"
                )
        specs = [f.to_json() for f in fragments]
        if any(spec.get("deletion_file") for spec in specs):
            raise LakeError(f"cannot add {source} to {table!r}: it has deleted rows (rewrite it first)")
        (path / "data").mkdir(parents=True, exist_ok=True)
        for fragment in fragments:
            for data_file in fragment.data_files():
                os.replace(Path(source) / "data" / data_file.path, path / "data" / data_file.path)
        moved = [lance.FragmentMetadata.from_json(json.dumps({**spec, "id": 0})) for spec in specs]  # ids: at commit
        return self._commit_fragments(table, moved, src.schema, overwrite)

    def overwrite(self, table: str, data: Data, schema: pa.Schema | None = None) -> int:
        """Replace the table's rows (older versions stay readable)."""
        return self._write(table, data, "overwrite", schema)

    def insert_new(self, table: str, data: Data, on: str | list[str]) -> tuple[int, int]:
        """Insert only rows whose key is not in the table yet: re-runs add nothing.

        The caller deduplicates keys within ``data``. Returns (version, rows inserted).
        """
        return self._merge(table, data, on, update=False)

    def upsert(self, table: str, data: Data, on: str | list[str]) -> tuple[int, int]:
        """Insert new keys and replace rows whose key exists. Returns (version, rows written)."""
        return self._merge(table, data, on, update=True)

    def _merge(self, table: str, data: Data, on: str | list[str], update: bool) -> tuple[int, int]:
        self._touch(table)
        if self.pinned_before[table] is None and table not in self.written:
            if isinstance(data, pa.RecordBatchReader):
                data = data.read_all()
            n = data.num_rows if isinstance(data, pa.Table) else sum(b.num_rows for b in data)
            return self._write(table, data, "create", None), n
        ds = lance.dataset(str(self.lake.path(table)))
        builder = ds.merge_insert(on)
        if update:
            builder = builder.when_matched_update_all()
        stats = builder.when_not_matched_insert_all().execute(data)
        self.written[table] = lance.dataset(str(self.lake.path(table))).version
        return self.written[table], int(stats["num_inserted_rows"]) + int(stats["num_updated_rows"])

    def delete(self, table: str, predicate: str) -> int:
        """Delete the rows matching a SQL predicate; returns the new version."""
        self._touch(table)
        path = str(self.lake.path(table))
        lance.dataset(path).delete(predicate)
        self.written[table] = lance.dataset(path).version
        return self.written[table]

    def replace_where(self, table: str, predicate: str, data: Data, schema: pa.Schema | None = None) -> int:
        """Replace the rows matching ``predicate`` (one round's rows, say) with ``data``; returns the version."""
        self._touch(table)
        if self._exists(table) and lance.dataset(str(self.lake.path(table))).count_rows(filter=predicate):
            self.delete(table, predicate)
        return self.append(table, data, schema)


class Lake:
    """A lake rooted at a folder. Cheap to construct; safe to share within a process."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.root = resolve_root(root)
        if not self.root.exists():
            if not create:
                raise LakeError(
                    f"no lake at {self.root}: run `prefhouse ingest` first, or pass --lake PATH "
                    "(or set PREFHOUSE_LAKE) to point at an existing one"
                )
            self.root.mkdir(parents=True)

    # ----------------------------------------------------------------- manifest
    def path(self, table: str) -> Path:
        if not table or "/" in table or table.startswith(("_", ".")):
            raise LakeError(f"invalid table name {table!r}")
        return self.root / f"{table}.lance"

    def _live_manifest(self) -> dict[str, Any]:
        """The manifest on disk: what writers build on."""
        path = self.root / MANIFEST
        if not path.exists():
            return {"format": 1, "commit": 0, "tables": {}}
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise LakeError(
                f"the lake manifest {path} is not valid JSON ({exc}): it was changed outside prefhouse. "
                f"The last commits are listed in {self.root / COMMIT_LOG}"
            ) from exc

    def _manifest(self) -> dict[str, Any]:
        """What this thread's reads see: the commit it is pinned to (see :meth:`reading_at`), else the live one."""
        pinned = getattr(_reads, "pins", {}).get(str(self.root))
        return pinned if pinned is not None else self._live_manifest()

    def commit(self) -> Commit:
        """The lake commit this thread's reads see."""
        manifest = self._manifest()
        return Commit(int(manifest.get("commit", 0)), dict(manifest["tables"]))

    @contextlib.contextmanager
    def reading_at(self, commit: Commit | None = None) -> Iterator[Commit]:
        """Pin this thread's reads of the lake to one commit (default: the latest) for the block.

        Commits of other threads and processes stay invisible until the block ends; this thread's
        own commits inside it are seen. Nested blocks keep the outer pin. Takes no lock.
        """
        pins = _reads.__dict__.setdefault("pins", {})
        key = str(self.root)
        if key in pins:
            yield self.commit()
            return
        chosen = commit or self.commit()
        pins[key] = {"commit": chosen.number, "tables": dict(chosen.tables)}
        try:
            yield chosen
        finally:
            pins.pop(key, None)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.root / f"{MANIFEST}.tmp.{os.getpid()}"
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / MANIFEST)

    def check_ids(self) -> None:
        """Refuse to add pairs to a lake whose ``pair_id``s were computed by another id scheme."""
        manifest = self._live_manifest()
        scheme = manifest.get("ids", LEGACY_IDS if "pairs" in manifest["tables"] else IDS_SCHEME)
        if scheme != IDS_SCHEME:
            raise LakeError(
                f"the pairs in {self.root} have {scheme} ids, this prefhouse computes {IDS_SCHEME} ids "
                "(lake/ids.py): new pairs would not deduplicate against the old ones. Ingest the source "
                "files into a new lake (--lake PATH)"
            )

    def pinned_version(self, table: str) -> int | None:
        """The committed version of ``table``, or None if it does not exist yet."""
        return self._manifest()["tables"].get(table)

    def tables(self) -> list[str]:
        """Committed tables, sorted by name."""
        return sorted(self._manifest()["tables"])

    def exists(self, table: str) -> bool:
        return self.pinned_version(table) is not None

    # -------------------------------------------------------------------- reads
    def dataset(self, table: str, version: int | str | None = None) -> lance.LanceDataset:
        """Open ``table`` at its committed version, or at ``version`` (a number or a tag).

        A known table that was never written reads as an empty dataset of its schema, kept
        outside the lake: reads create nothing and take no lock.
        """
        pinned = self.pinned_version(table)
        if pinned is None:
            if table not in TABLES:
                known = ", ".join(self.tables()) or "none yet"
                raise LakeError(f"no table {table!r} in the lake at {self.root} (tables: {known})")
            if version is None and not self.path(table).exists():
                return empty_dataset(table)
        if version is None:
            version = pinned
        elif isinstance(version, str) and version.isdigit():
            version = int(version)
        try:
            return lance.dataset(str(self.path(table)), version=version)
        except (ValueError, OSError) as exc:
            tags = ", ".join(sorted(self.tags(table))) or "no tags"
            raise LakeError(
                f"table {table!r} has no version or tag {version!r} ({tags}); see `prefhouse history {table}`"
            ) from exc

    def version(self, table: str) -> int | None:
        """The committed version of ``table`` this thread reads (None: never written)."""
        return self.pinned_version(table)

    def history(self, table: str) -> list[dict[str, Any]]:
        """Every version of ``table``: number, time, rows, tags, and whether it is committed."""
        self.dataset(table)  # an unknown table is an error; a known one never written has no history
        pinned = self.pinned_version(table)
        if pinned is None:
            return []
        tags_by_version: dict[int, list[str]] = {}
        for name, info in self.tags(table).items():
            tags_by_version.setdefault(int(info["version"]), []).append(name)
        rows = []
        for v in lance.dataset(str(self.path(table))).versions():
            n = v["version"]
            rows.append(
                {
                    "version": n,
                    "timestamp": v["timestamp"],
                    "rows": int(v["metadata"].get("total_rows", 0)),
                    "tags": sorted(tags_by_version.get(n, [])),
                    "is_current": n == pinned,
                }
            )
        return rows

    def tags(self, table: str) -> dict[str, dict[str, Any]]:
        if not self.path(table).exists():
            return {}
        return dict(lance.dataset(str(self.path(table))).tags.list())

    def committed_versions(self, table: str) -> set[int]:
        """Versions of ``table`` that a lake commit produced (plus the pinned one): never a rolled-back write."""
        pinned = self._live_manifest()["tables"].get(table)
        out = {pinned} if pinned is not None else set()
        log = self.root / COMMIT_LOG
        if not log.exists():  # a lake from before the commit log: every version up to the pinned one
            known = {v["version"] for v in lance.dataset(str(self.path(table))).versions()} if pinned else set()
            return out | {v for v in known if pinned is not None and v <= pinned}
        with open(log) as fh:
            for line in fh:
                version = json.loads(line).get("tables", {}).get(table) if line.strip() else None
                if version is not None:
                    out.add(int(version))
        return out

    def tag(self, table: str, name: str, version: int | None = None) -> int:
        """Point tag ``name`` of ``table`` at ``version`` (default: committed). Moves an existing tag.

        Only a committed version can be tagged: a version that a crashed or failed writer left
        behind (rolled back since) holds rows the lake never committed.
        """
        target = version if version is not None else self.version(table)
        if target is None:
            raise LakeError(f"table {table!r} has never been written: there is no version to tag")
        ds = lance.dataset(str(self.path(table)))
        known = {v["version"] for v in ds.versions()}
        if target not in known:
            raise LakeError(f"table {table!r} has no version {target}; see `prefhouse history {table}`")
        committed = self.committed_versions(table)
        if target not in committed:
            raise LakeError(
                f"version {target} of {table!r} was never committed (a write that was rolled back): only committed "
                f"versions can be tagged ({', '.join(map(str, sorted(committed)[-5:]))} are the latest); "
                f"see `prefhouse history {table}`"
            )
        with self._locked():
            if name in ds.tags.list():
                ds.tags.update(name, target)
            else:
                ds.tags.create(name, target)
        return target

    # ------------------------------------------------------------------- writes
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # flock is per open file: a nested acquire in the same thread must not re-lock.
        with _thread_lock:
            depth = getattr(_held, "depth", 0)
            if depth:
                _held.depth = depth + 1
                try:
                    yield
                finally:
                    _held.depth = depth
                return
            with open(self.root / "_lock", "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                _held.depth = 1
                try:
                    yield
                finally:
                    _held.depth = 0
                    fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def staging(self, name: str = "job") -> Iterator[Path]:
        """A fresh folder under the lake for files a job writes before its commit; removed after the block.

        A Ray job's workers write their rows there (never into a table), so a job that fails or
        dies leaves every table as it was; :meth:`Transaction.add_dataset` moves them in at the
        commit. The job holds a lock on the folder while it lives: the folder of a job that died
        is removed by the next writer's recovery and by :meth:`reclaim`, never a live job's.
        """
        base = self.root / STAGING
        with self._locked():  # made and locked under the writer lock, as reclaim runs: it never sees it unlocked
            base.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
            owner = open(folder / OWNER, "w")  # noqa: SIM115 (held for the block)
            fcntl.flock(owner, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            owner.close()

    def _reclaim_staging(self) -> int:
        """Remove the staging folders whose job is gone (its lock is free); the number removed.

        Runs under the writer lock, as :meth:`staging` makes its folders.
        """
        removed = 0
        for folder in sorted((self.root / STAGING).glob("*")) if (self.root / STAGING).is_dir() else []:
            try:
                with open(folder / OWNER, "a") as owner:
                    fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live job holds it: skip the folder
            except BlockingIOError:
                continue
            except FileNotFoundError:
                pass  # half removed: its job is gone
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed

    @contextlib.contextmanager
    def transaction(self, message: str = "") -> Iterator[Transaction]:
        """Group writes into one lake commit: all land, or the lake stays as it was."""
        with self._locked():
            outermost = _held.depth == 1  # nested transactions must not undo the outer one
            if outermost:
                self._recover()
                (self.root / DIRTY).touch()
            txn = Transaction(self, message)
            try:
                yield txn
            except BaseException:
                if outermost:
                    self._recover()  # restores every table to its pinned version, reclaims the files
                    (self.root / DIRTY).unlink(missing_ok=True)
                else:
                    self._rollback(txn.pinned_before)
                raise
            manifest = self._live_manifest()
            if "ids" not in manifest and "pairs" not in manifest["tables"]:
                manifest["ids"] = IDS_SCHEME  # a lake whose pairs predate the field keeps none: see check_ids
            manifest["tables"].update(txn.written)
            manifest["commit"] = int(manifest.get("commit", 0)) + 1
            self._write_manifest(manifest)
            if txn.written:
                self._log_commit(manifest["commit"], message, txn.written)
            pinned = getattr(_reads, "pins", {}).get(str(self.root))
            if pinned is not None:  # this thread's reads are pinned: they see its own commits
                pinned["tables"].update(txn.written)
                pinned["commit"] = manifest["commit"]
            if outermost:
                (self.root / DIRTY).unlink(missing_ok=True)

    def _log_commit(self, number: int, message: str, tables: Mapping[str, int]) -> None:
        entry = {"commit": number, "at": _now().isoformat(), "message": message, "tables": dict(tables)}
        with open(self.root / COMMIT_LOG, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def append(self, table: str, data: Data, message: str = "") -> int:
        """One-table convenience: append in a transaction of its own."""
        with self.transaction(message or f"append {table}") as txn:
            return txn.append(table, data)

    def _rollback(self, pinned: dict[str, int | None]) -> None:
        for table, version in pinned.items():
            self._restore(table, version)

    def _restore(self, table: str, version: int | None) -> None:
        path = self.path(table)
        if not path.exists():
            return
        if version is None:  # created by the failed transaction: it never existed
            shutil.rmtree(path)
            return
        latest = lance.dataset(str(path))
        if latest.version != version:
            lance.dataset(str(path), version=version).restore()

    def _recover(self) -> ReclaimReport:
        """Roll back versions left by a writer that died (or failed) before committing; reclaim their files."""
        manifest = self._live_manifest()
        restored: dict[str, int] = {}
        for table, version in manifest["tables"].items():
            path = self.path(table)
            if not path.exists():
                continue
            if lance.dataset(str(path)).version != version:
                self._restore(table, version)
                restored[table] = manifest["tables"][table] = lance.dataset(str(path)).version
        for path in self.root.glob("*.lance"):
            if path.name.removesuffix(".lance") not in manifest["tables"]:
                shutil.rmtree(path)  # a table whose creating transaction never committed
        if restored:  # the restored copy of a committed version is committed too
            manifest["commit"] = int(manifest.get("commit", 0)) + 1
            self._write_manifest(manifest)
            self._log_commit(manifest["commit"], "recover: roll back a writer that did not commit", restored)
        staging = self._reclaim_staging()
        if restored or (self.root / DIRTY).exists():
            report = self._reclaim(manifest["tables"])
            report.staging = staging
            return report
        return ReclaimReport(staging=staging)

    def reclaim(self) -> ReclaimReport:
        """Remove what no committed version references: versions a rolled-back write left, and orphan files.

        Committed versions, tagged versions and each table's latest stay, so time travel to any
        lake commit keeps working. Runs under the writer lock (other writers wait; readers do not).
        """
        with self._locked():
            report = self._recover()
            for table, removed in self._reclaim(self._live_manifest()["tables"]).tables.items():
                done = report.tables.setdefault(table, {"versions": 0, "bytes": 0})
                done["versions"] += removed["versions"]
                done["bytes"] += removed["bytes"]
            (self.root / DIRTY).unlink(missing_ok=True)  # no writer runs while the lock is held
            return report

    def _reclaim(self, tables: Mapping[str, int]) -> ReclaimReport:
        report = ReclaimReport()
        for table in tables:
            path = self.path(table)
            if not path.exists():
                continue
            ds = lance.dataset(str(path))
            keep = self.committed_versions(table) | {int(info["version"]) for info in ds.tags.list().values()}
            stale = [v["version"] for v in ds.versions() if v["version"] not in keep and v["version"] != ds.version]
            # ``versions`` limits which versions go; files that no remaining version references go too
            # (delete_unverified: safe, since every writer holds the lock this caller holds).
            stats = ds.cleanup_old_versions(versions=stale or [ds.version], delete_unverified=True,
                                            error_if_tagged_old_versions=False)  # fmt: skip
            if stats.bytes_removed or stats.old_versions:
                report.tables[table] = {"versions": int(stats.old_versions), "bytes": int(stats.bytes_removed)}
        return report
