"""prefhouse pipelines."""
