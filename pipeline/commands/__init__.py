"""Sub-commands of `python -m pipeline`; each module has `register(subparsers)`."""
