"""Models API: list the model catalogue (contract §4)."""

from __future__ import annotations

from typing import Literal

from ..types.models import ModelList
from ._base import Resource, parse_response

__all__ = ["Models"]


class Models(Resource):
    """``client.models``: the catalogue of models this account can use.

    The contract calls ``GET /openai/v1/models`` "the source of truth": list it first in a new
    environment, cache it, and check a model with :meth:`ModelList.check` before paying for a call.
    """

    async def list(self, route: Literal["openai", "anthropic"] = "openai") -> ModelList:
        """List the models the key can use.

        Args:
            route: ``"openai"`` for ``GET /openai/v1/models`` (Bearer) or ``"anthropic"`` for
                ``GET /anthropic/v1/models`` (``x-api-key`` + ``anthropic-version``).

        Returns:
            The catalogue page. The contract documents no pagination parameters, so this is the
            page the gateway returns; ``has_more`` says whether there is more.

        Raises:
            ValueError: Unknown ``route``.
            APIStatusError: The gateway refused the call (401: wrong key or header style).
        """
        if route == "openai":
            response = await self._client.request("GET", "/openai/v1/models")
        elif route == "anthropic":
            response = await self._client.request("GET", "/anthropic/v1/models", auth="anthropic")
        else:
            raise ValueError(f"route must be 'openai' or 'anthropic', got {route!r}")
        return parse_response(ModelList, response)
