"""Instagram professional accounts connector (facebook-business SDK, Graph API v26.0)."""

from connectors.instagram.connector import InstagramConnector

__all__ = ["InstagramConnector"]
