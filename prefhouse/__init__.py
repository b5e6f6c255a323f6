"""prefhouse: a preference-data lakehouse (Skywork-Reward-V2 style curation)."""

import os

# Lance's Rust logger reads this once, when lance is first imported: without it, writing the
# first data files of a new table warns "No existing dataset ..., it will be created".
os.environ.setdefault("LANCE_LOG", "error")

__version__ = "0.1.0"
