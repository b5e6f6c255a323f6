"""prefhouse: a preference-data lakehouse (Skywork-Reward-V2 style curation)."""

__version__ = "0.1.0"
