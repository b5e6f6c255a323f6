"""The dataset card (``README.md``) written beside every snapshot export.

It says what the file holds and where it came from: the table at its tag and version, the
round, the layout (with a row of it and how a trainer loads it), the row counts by label
provenance and by source, the license of each source file, and the curation rule in force.

Licenses: the lake records no license. A source file whose path ends in a path of
``data/MANIFEST.tsv`` (the sample data shipped with prefhouse, ``data/NOTICE.md``) has that
file's license; the card says whether the bytes are the shipped ones or only the path matches
(the demo ingests the first rows of the shipped hh-rlhf files, say). Any other file's license
is written as unknown.

The curation rule: ``curated`` and ``flipped`` hold one round each. The lake records each
round's last dbt build (``<lake>/_dbt/rounds/round_N.json``, :mod:`lake.builds`); the card lists
that build's stage and every var (the build's own values over the defaults of
``dbt_project/dbt_project.yml``), or says the rule is not recorded when the round has no build.

Every count is a DuckDB aggregate over the Lance snapshot: nothing reads the rows into Python.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lake.builds import PROJECT_DIR, last_build, round_build

if TYPE_CHECKING:
    from lake.snapshot import Snapshot

REPO = Path(__file__).resolve().parents[1]
SHIPPED_MANIFEST = REPO / "data" / "MANIFEST.tsv"
ROUND_TABLES = ("curated", "flipped")
EXAMPLE = {"conversation": [{"role": "user", "content": "What is the capital of France?"}],
           "chosen": "Paris.", "rejected": "Lyon."}  # fmt: skip
STAGE_RULES = {
    1: "Stage 1 (human in the loop): a pre-filter reason drops the pair; a human majority decides the pairs "
    "humans labelled (agree: keep, disagree: flip, split: drop); any other pair is kept unless trusted "
    "evidence (judges, RMs, pre-checks) contradicts it, and then `stage1_on_disagreement` decides.",
    2: "Stage 2 (large scale): a pre-filter reason drops the pair; a human majority decides the pairs humans "
    "labelled; otherwise the pair is kept when the trusted gold RM and (trusted judges or the trusted best "
    "RM) agree with its label, flipped when they both disagree, and `stage2_on_mixed` decides when they "
    "conflict; with no trusted gold RM, trusted judges decide or the label is kept unverified.",
}


# ---------------------------------------------------------------------------- licenses
def shipped_files(manifest: Path = SHIPPED_MANIFEST) -> list[dict[str, str]]:
    """The rows of ``data/MANIFEST.tsv`` (path, rows, bytes, sha256, source repo, license, ...)."""
    if not manifest.exists():
        return []
    with manifest.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def license_of(source_file: str | None, shipped: list[dict[str, str]]) -> tuple[str, str]:
    """(license, how it is known) of one ingested file."""
    if not source_file:
        return "unknown", "the pair's source file is not recorded"
    parts = Path(source_file).parts
    for row in shipped:
        want = Path(row["path"]).parts
        if tuple(parts[-len(want) :]) != want:
            continue
        lic = row.get("license") or "unknown"
        path = Path(source_file)
        if not path.is_file():
            how = "same path as a shipped file (the file is gone, its bytes unchecked"
        elif str(path.stat().st_size) == row["bytes"] and _sha256(path) == row["sha256"]:
            how = "the shipped file (sha256 matches"
        else:
            how = "same path as a shipped file (other bytes: a part or an edit of it?"
        return lic, f"{how}; data/MANIFEST.tsv `{row['path']}`, data/NOTICE.md)"
    return "unknown", "not a file shipped in data/; the lake records no license"


# ------------------------------------------------------------------------ curation rule
def _dbt_defaults() -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text()).get("vars") or {})


def _version_time(snapshot: Snapshot) -> datetime | None:
    if snapshot.version == 0:
        return None
    for v in snapshot.dataset.versions():
        if int(v["version"]) == snapshot.version:
            ts = v["timestamp"]
            return ts.astimezone(UTC) if isinstance(ts, datetime) else None
    return None


def curation_rule(snapshot: Snapshot, rounds: list[int]) -> list[str]:
    """The markdown lines of the card's curation-rule section."""
    if snapshot.table not in ROUND_TABLES:
        return [f"`{snapshot.table}` is not a curated table: no curation rule applies to it. `pairs` holds every "
                "distinct ingested pair with its source's own label (ties left out of this export)."]  # fmt: skip
    if len(rounds) != 1:
        return [f"The snapshot holds rounds {rounds or 'none'}: no single round's rule applies."]
    (rnd,) = rounds
    build = round_build(snapshot.lake, rnd)
    if build is None:
        last = last_build(snapshot.lake)
        last_text = "no dbt build" if last is None else f"round {last.get('round')}"
        return [f"Not recorded: the lake has no dbt build of round {rnd} (its last build is {last_text}). "
                f"The rule of round {rnd} is not known from the lake."]  # fmt: skip
    built = dict(build.get("vars") or {})
    stage = int(build.get("stage", built.get("stage", 1)))
    lines = [STAGE_RULES.get(stage, f"Stage {stage}."), ""]
    finished = build.get("finished_at") or ""
    written = _version_time(snapshot)
    try:
        after = written is not None and datetime.fromisoformat(finished) > written
    except ValueError:
        after = False
    status = "passed" if build.get("success") else "failed"
    lines.append(f"The last dbt build of round {rnd} (stage {stage}) {status} and finished at "
                 f"{finished or 'an unrecorded time'}.")  # fmt: skip
    if after:
        lines.append(f"**It finished after this snapshot was written ({written.isoformat()}): it may not be "
                     "the build this snapshot was published from.**")  # fmt: skip
    versions = build.get("versions") or {}
    if versions:
        lines.append("It read " + ", ".join(f"`{t}@v{v}`" for t, v in sorted(versions.items())) + ".")
    defaults = _dbt_defaults()
    rows = []
    for name in sorted(set(defaults) | set(built)):
        if name in ("round", "stage", "lake_at"):
            continue
        value = built.get(name, defaults.get(name))
        origin = "set for this build" if name in built else "dbt_project.yml default"
        rows.append(f"| `{name}` | `{json.dumps(value, ensure_ascii=False)}` | {origin} |")
    lines += ["", "| var | value | from |", "|---|---|---|", *rows]
    lines += ["", "Defaults are read from `dbt_project/dbt_project.yml` as it is at export time."]
    return lines


# ---------------------------------------------------------------------------- the card
def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return ("null" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]


def _example_row(con: Any, layout: str, margin: bool) -> dict[str, Any]:
    from lake.export import layout_select

    select = layout_select(list(EXAMPLE), layout)  # type: ignore[arg-type]
    src = ("SELECT [{'role': 'user', 'content': 'What is the capital of France?'}] AS conversation, "
           "'Paris.' AS chosen, 'Lyon.' AS rejected")  # fmt: skip
    cur = con.execute(f"SELECT {select} FROM ({src})")
    names = [d[0] for d in cur.description]
    row = dict(zip(names, cur.fetchone(), strict=True))
    if margin:
        row["margin"] = 0.0
    return row


USAGE = {
    "trl": "A tokenizer with a chat template; TRL joins `prompt` and `chosen` / `rejected` itself.\n\n"
    "```python\nfrom datasets import load_dataset\nfrom trl import RewardConfig, RewardTrainer\n\n"
    'ds = load_dataset("{builder}", data_files="{file}", split="train")\n'
    'trainer = RewardTrainer(model=model, args=RewardConfig(output_dir="rm"), train_dataset=ds, '
    "processing_class=tokenizer)\n```",
    "trl-implicit": "A tokenizer with a chat template.\n\n"
    "```python\nfrom datasets import load_dataset\nfrom trl import RewardConfig, RewardTrainer\n\n"
    'ds = load_dataset("{builder}", data_files="{file}", split="train")\n'
    'trainer = RewardTrainer(model=model, args=RewardConfig(output_dir="rm"), train_dataset=ds, '
    "processing_class=tokenizer)\n```",
    "openrlhf": "OpenRLHF's defaults read these keys; its chat template renders each whole conversation.\n\n"
    "```bash\nopenrlhf.cli.train_rm --data.dataset {file} --data.chosen_key chosen --data.rejected_key rejected "
    "--data.apply_chat_template{margin_flag} ...\n```",
    "text": "Any tokenizer; TRL appends its EOS token to `prompt + chosen` (a tokenizer without one, such as "
    "BERT's, needs `RewardConfig(eos_token=tokenizer.sep_token)`). OpenRLHF: `--data.prompt_key prompt` "
    "without `--data.apply_chat_template`.\n\n"
    "```python\nfrom datasets import load_dataset\n\n"
    'ds = load_dataset("{builder}", data_files="{file}", split="train")\n```',
    "table": "Not a trainer layout: the table's own columns.\n\n"
    "```python\nfrom datasets import load_dataset\n\n"
    'ds = load_dataset("{builder}", data_files="{file}", split="train")\n```',
}


def card_text(snapshot: Snapshot, con: Any, manifest: dict[str, Any], where: str) -> str:
    """The card's markdown; ``con`` has the snapshot registered as ``snap``."""
    from lake.export import LAYOUTS, MARGIN_DEFINITION

    columns = snapshot.dataset.schema.names
    layout, file, fmt = manifest["layout"], manifest["file"], manifest["format"]
    builder = "parquet" if fmt == "parquet" else "json"
    margin = manifest.get("margin") is not None
    rounds = []
    if "round" in columns:
        rounds = [int(r[0]) for r in con.execute(f"SELECT DISTINCT round FROM snap {where} ORDER BY 1").fetchall()]
    exported_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    front = ["---", "configs:", "- config_name: default", "  data_files:", "  - split: train", f"    path: {file}"]
    front.append("---")
    facts = [
        ["table", f"`{snapshot.table}`"],
        ["version", snapshot.version],
        ["tag", snapshot.tag or "none"],
        ["round", ", ".join(map(str, rounds)) if rounds else "none (not a per-round table)"],
        ["rows", manifest["rows"]],
        ["ties left out", manifest.get("ties_left_out", 0)],
        ["layout", f"`{layout}`"],
        ["format", fmt],
        ["columns", ", ".join(f"`{c}`" for c in manifest["columns"])],
    ]
    described = LAYOUTS.get(layout, "the table as it is")
    if layout != "table":
        described += "; then `pair_id` and the table's provenance columns (trainers ignore them)"
    lines = [*front, "", f"# {snapshot.ref} ({layout} layout)", ""]
    lines += [f"Exported by `prefhouse snapshot export` at {exported_at}: {manifest['rows']} rows in `{file}`.", ""]
    lines += [*_table(["snapshot", ""], facts), "", "## Layout", "", described + ".", ""]
    if layout != "table":
        example = json.dumps(_example_row(con, layout, margin), ensure_ascii=False)
        lines += ["A row of this layout (made-up text, layout columns only):", "", "```json", example, "```", ""]
    usage = USAGE[layout].format(builder=builder, file=file, margin_flag=" --model.margin_loss_enable" * margin)
    lines += [usage, "", "`datasets.load_dataset` also reads this folder as it is (the configs above).", ""]
    lines += ["## Margin", ""]
    if margin:
        n_rm, n_null, n_neg = con.execute(
            f"SELECT count(*) FILTER (WHERE margin IS NOT NULL), count(*) FILTER (WHERE margin IS NULL), "
            f"count(*) FILTER (WHERE margin < 0) FROM snap {where}"
        ).fetchone()
        lines += [MARGIN_DEFINITION, "", f"Rows with an RM margin: {n_rm} ({n_neg} of them negative, written as 0); "
                  f"rows without one: {n_null} (written as 0)."]  # fmt: skip
    else:
        lines.append("No `margin` column (export with `--margin` for one): every pair's loss is the plain "
                     "Bradley-Terry one.")  # fmt: skip
    lines += ["", "## Counts", ""]
    label = next((c for c in ("label_provenance", "label_origin") if c in columns), None)
    if label:
        counts = con.execute(f"SELECT {label}, count(*) FROM snap {where} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        note = "" if label == "label_provenance" else " (no `label_provenance`: the labels are the sources' own)"
        lines += [f"By `{label}`{note}:", "", *_table([label, "rows"], [list(r) for r in counts]), ""]
    if "source" in columns:
        counts = con.execute(f"SELECT source, count(*) FROM snap {where} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        lines += ["By `source`:", "", *_table(["source", "rows"], [list(r) for r in counts]), ""]
    lines += ["## Sources and licenses", "", *_licenses(snapshot, con, where), "", "## Curation rule", ""]
    lines += [*curation_rule(snapshot, rounds), ""]
    return "\n".join(lines)


def _licenses(snapshot: Snapshot, con: Any, where: str) -> list[str]:
    columns = snapshot.dataset.schema.names
    if "source" not in columns:
        return ["The table has no `source` column."]
    if "source_file" in columns:
        query = f"SELECT source, source_file, count(*) FROM snap {where} GROUP BY ALL ORDER BY 1, 2"
    elif "pair_id" in columns:  # curated / flipped: the file of each pair's first sighting, from pairs
        con.register("pairs_committed", snapshot.lake.dataset("pairs"))
        query = (f"SELECT s.source, p.source_file, count(*) FROM (SELECT source, pair_id FROM snap {where}) s "
                 "LEFT JOIN (SELECT pair_id, source_file FROM pairs_committed) p USING (pair_id) "
                 "GROUP BY ALL ORDER BY 1, 2")  # fmt: skip
    else:
        query = f"SELECT source, NULL, count(*) FROM snap {where} GROUP BY ALL ORDER BY 1"
    shipped = shipped_files()
    rows = []
    for source, source_file, n in con.execute(query).fetchall():
        lic, how = license_of(source_file, shipped)
        rows.append([source, f"`{source_file}`" if source_file else "unknown", n, lic, how])
    note = ("Each pair's file is the one it was first seen in (`pairs.source_file`); every sighting is in "
            "`pair_sources`. The lake records no license: a shipped file's license is the one in "
            "`data/MANIFEST.tsv` (`data/NOTICE.md` has the attributions); any other file's is unknown.")  # fmt: skip
    return [note, "", *_table(["source", "file", "rows", "license", "how known"], rows)]


def write_card(snapshot: Snapshot, con: Any, out: Path, manifest: dict[str, Any], where: str) -> Path:
    path = Path(out) / "README.md"
    path.write_text(card_text(snapshot, con, manifest, where), encoding="utf-8")
    return path
