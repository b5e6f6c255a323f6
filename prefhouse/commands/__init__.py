"""Sub-commands of the ``prefhouse`` CLI, one module per area, each with ``register(subparsers)``."""
