"""Deployment tests. The ``slow`` and ``process`` markers (the two-worker test) are registered in
``pyproject.toml``; ``-m "not slow and not process"`` leaves that test out."""
