"""Request (strict) and response (lenient) models, one module per route family."""

from ._base import RequestModel, ResponseModel, check_text, check_texts

__all__ = ["RequestModel", "ResponseModel", "check_text", "check_texts"]
