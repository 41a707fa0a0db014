"""Command groups for ``python -m evidence``; each module has ``register(subparsers)``."""
