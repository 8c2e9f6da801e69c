"""Typed async client for AnyInt's multimodal gateway (no Prefect import here)."""

from . import secrets as _secrets
from ._client import DEFAULT_BASE_URL, DEFAULT_DEADLINE, AnyIntClient, AuthStyle
from ._download import DEFAULT_BASE_SECONDS as DEFAULT_DOWNLOAD_BASE_SECONDS
from ._download import DEFAULT_MAX_BYTES as DEFAULT_MAX_DOWNLOAD_BYTES
from ._download import DEFAULT_MIN_BYTES_PER_SECOND as DEFAULT_DOWNLOAD_MIN_BYTES_PER_SECOND
from ._download import DownloadResult, MediaKind, download, download_budget, sniff
from ._exceptions import (
    AmbiguousSubmitError,
    AnyIntError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    FrequencyLimitError,
    InternalServerError,
    MaintenanceError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServiceUnavailableError,
    SunoRateLimitError,
    TaskError,
    TaskFailedError,
    TaskTimeoutError,
    UnprocessableEntityError,
)
from ._polling import PollSchedule, TaskSnapshot, wait_for_task
from ._retry import RetryPolicy
from .config import AnyIntSettings

# Gateway error text may echo the key or the callback token; every process that talks to the
# gateway imports this package, so every such process scrubs its log records (anyint.secrets).
_secrets.install_log_scrubbing()

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_DOWNLOAD_BASE_SECONDS",
    "DEFAULT_DOWNLOAD_MIN_BYTES_PER_SECOND",
    "DEFAULT_MAX_DOWNLOAD_BYTES",
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
    "download_budget",
    "sniff",
    "wait_for_task",
]
