"""Print what pip's dry-run report (``pip install --dry-run --report FILE``) resolved for an extra."""

import json
import sys

report, *names = sys.argv[1:]
with open(report) as fh:
    versions = {i["metadata"]["name"]: i["metadata"]["version"] for i in json.load(fh)["install"]}
missing = [n for n in names if n not in versions]
if missing:
    sys.exit(f"{report}: {', '.join(missing)} not in the resolution")
print(f"{report}: " + ", ".join(f"{n} {versions[n]}" for n in names) + f" ({len(versions)} packages)")
