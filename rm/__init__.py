"""prefhouse rm."""
