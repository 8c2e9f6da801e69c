"""Prefect flows: one per file, entrypoints only. See each module's docstring for what it needs."""
