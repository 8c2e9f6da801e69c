"""Request (strict) and response (lenient) models, one module per route family."""

from ._base import RequestModel, ResponseModel

__all__ = ["RequestModel", "ResponseModel"]
