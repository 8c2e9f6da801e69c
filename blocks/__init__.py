"""Prefect blocks: AnyInt credentials and the asset store.

Register them with ``prefect block register -m blocks``.
"""

from .credentials import AnyIntCredentials
from .store import AssetStore, StoredAsset, StoreDocumentError, UnsafeKeyError

__all__ = ["AnyIntCredentials", "AssetStore", "StoreDocumentError", "StoredAsset", "UnsafeKeyError"]
