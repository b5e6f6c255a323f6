"""prefhouse expectations."""
