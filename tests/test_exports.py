"""The public surface of each package, pinned (as httpx pins its own): a name added to or dropped
from ``__all__`` is a decision, made here on purpose, not a side effect of a refactor."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "anyint": {
        "APIConnectionError",
        "APIError",
        "APIResponseValidationError",
        "APIStatusError",
        "APITimeoutError",
        "AmbiguousSubmitError",
        "AnyIntClient",
        "AnyIntError",
        "AnyIntSettings",
        "AuthStyle",
        "AuthenticationError",
        "BadRequestError",
        "ConflictError",
        "DEFAULT_BASE_URL",
        "DEFAULT_MAX_DOWNLOAD_BYTES",
        "DownloadError",
        "DownloadResult",
        "FrequencyLimitError",
        "InternalServerError",
        "MaintenanceError",
        "MediaKind",
        "NotFoundError",
        "PayloadTooLargeError",
        "PermissionDeniedError",
        "PollSchedule",
        "RateLimitError",
        "RequestTimeoutError",
        "RetryPolicy",
        "ServiceUnavailableError",
        "SunoRateLimitError",
        "TaskError",
        "TaskFailedError",
        "TaskSnapshot",
        "TaskTimeoutError",
        "UnprocessableEntityError",
        "download",
        "sniff",
        "wait_for_task",
    },
    "blocks": {
        "AnyIntCredentials",
        "AssetStore",
        "StoreDocumentError",
        "StoredAsset",
        "UnsafeKeyError",
    },
    "tasks": {
        "AssetRecord",
        "Connection",
        "FinishedTask",
        "GatewayConfig",
        "Output",
        "ROUTES",
        "RouteSpec",
        "RunConfig",
        "RunDeadlineError",
        "SubmitInDoubtError",
        "SubmittedTask",
        "TaskLostError",
        "TaskOutputMissingError",
        "fetch",
        "journal",
        "record_assets",
        "register_transport",
        "submit",
        "unregister_transport",
        "wait",
    },
    "flows": {
        "ModelNeed",
        "check_models",
        "content_brief",
        "describe_images",
        "generate_image",
        "generate_video",
        "music_video",
        "start_run",
    },
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == PUBLIC[package]
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name} is listed but missing"


def test_the_doubt_of_the_journal_is_the_clients_doubt() -> None:
    from anyint import AmbiguousSubmitError
    from tasks import SubmitInDoubtError

    assert issubclass(SubmitInDoubtError, AmbiguousSubmitError)
    assert SubmitInDoubtError.retryable is False
