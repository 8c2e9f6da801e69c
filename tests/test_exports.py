"""The public surface of each package, pinned (as httpx pins its own): a name added to or dropped
from ``__all__`` is a decision, made here on purpose, not a side effect of a refactor.

The expected names are grouped by kind, one whitespace-separated string per group, so that the
table reads as a map of the surface rather than as a second copy of each ``__all__``; the kinds
that have a runtime shape (errors, Prefect tasks and flows, modules) are checked against it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

import pytest
from prefect import Flow, Task

# package -> kind -> names. Errors are listed level by level down the tree of anyint/_exceptions.py.
PUBLIC: dict[str, dict[str, str]] = {
    "anyint": {
        "client": "AnyIntClient AnyIntSettings AuthStyle DEFAULT_BASE_URL DEFAULT_DEADLINE "
        "RetryPolicy",
        "polling": "PollSchedule TaskSnapshot wait_for_task",
        "downloads": "DEFAULT_DOWNLOAD_BASE_SECONDS DEFAULT_DOWNLOAD_MIN_BYTES_PER_SECOND "
        "DEFAULT_MAX_DOWNLOAD_BYTES DownloadResult MediaKind download download_budget sniff",
        "errors": """
            AnyIntError
            APIError TaskError
            APIConnectionError APIResponseValidationError APIStatusError AmbiguousSubmitError
            DownloadError TaskFailedError TaskTimeoutError
            APITimeoutError AuthenticationError BadRequestError ConflictError FrequencyLimitError
            InternalServerError MaintenanceError NotFoundError PayloadTooLargeError
            PermissionDeniedError RateLimitError RequestTimeoutError SunoRateLimitError
            UnprocessableEntityError
            ServiceUnavailableError
        """,
    },
    "blocks": {
        "blocks": "AnyIntCredentials AssetStore",
        "values": "StoredAsset",
        "errors": "StoreDocumentError UnsafeKeyError",
    },
    "tasks": {
        "tasks": "submit wait fetch wait_and_fetch",
        "functions": "record_assets register_transport unregister_transport",
        "values": (
            "AssetRecord Collected Connection FinishedTask GatewayConfig Output RETRY_OPTIONS "
            "ROUTES RouteSpec"
        ),
        "run": "RunConfig SubmittedTask",
        "errors": "RunDeadlineError SubmitInDoubtError TaskLostError TaskOutputMissingError",
        "modules": "journal",
    },
    "flows": {
        "flows": (
            "assistant batch content_brief describe_images generate_image generate_video karaoke "
            "music_remix music_video persona"
        ),
        "tasks": "check_models",
        "functions": "start_run",
        "values": "ModelNeed",
    },
}

# What an object of a kind must be; kinds not listed here carry no runtime check.
KIND_CHECKS: dict[str, Callable[[object], bool]] = {
    "errors": lambda obj: isinstance(obj, type) and issubclass(obj, Exception),
    "tasks": lambda obj: isinstance(obj, Task),
    "flows": lambda obj: isinstance(obj, Flow),
    "modules": lambda obj: isinstance(obj, ModuleType),
    "functions": callable,
}


def expected_names(package: str) -> set[str]:
    """Every name of ``package`` in :data:`PUBLIC`, of any kind; no name may be in two kinds."""
    groups = [group.split() for group in PUBLIC[package].values()]
    names = {name for group in groups for name in group}
    assert len(names) == sum(map(len, groups)), f"{package}: a name is listed under two kinds"
    return names


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__)), f"{package}.__all__ repeats a name"
    listed, expected = set(module.__all__), expected_names(package)
    added, gone = sorted(listed - expected), sorted(expected - listed)
    assert listed == expected, f"{package}.__all__ added {added}, dropped {gone}"
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name} is listed but missing"


@pytest.mark.parametrize(
    ("package", "kind"),
    [(package, kind) for package, kinds in PUBLIC.items() for kind in kinds if kind in KIND_CHECKS],
)
def test_public_names_are_of_their_kind(package: str, kind: str) -> None:
    module = importlib.import_module(package)
    for name in PUBLIC[package][kind].split():
        is_of_kind = KIND_CHECKS[kind](getattr(module, name))
        assert is_of_kind, f"{package}.{name} is not one of the {kind}"


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_every_public_attribute_is_exported_or_a_submodule(package: str) -> None:
    # A public attribute outside __all__ is an export made by accident: users find it with dir()
    # and start to rely on it. Submodules are the exception: importing one binds its name.
    module = importlib.import_module(package)
    stray = {
        name
        for name in dir(module)
        if not name.startswith("_")
        and name not in module.__all__
        and not isinstance(getattr(module, name), ModuleType)
    }
    assert not stray, f"{package} defines public names outside __all__: {sorted(stray)}"


def test_the_doubt_of_the_journal_is_the_clients_doubt() -> None:
    from anyint import AmbiguousSubmitError
    from tasks import SubmitInDoubtError

    assert issubclass(SubmitInDoubtError, AmbiguousSubmitError)
    assert SubmitInDoubtError.retryable is False
