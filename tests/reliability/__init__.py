"""Reliability and security tests, against the session's Prefect server (the folder is marked
``prefect`` in ``tests/conftest.py``). Flows reach the emulator through the ``gateway`` fixture,
configured by ``ANYINT_*`` as a user configures them; ``_support.fast_retries`` shortens the
client's backoff where a row needs it."""
