"""Facebook Pages connector (facebook-business SDK, Graph API v26.0)."""

from connectors.facebook.connector import FacebookConnector

__all__ = ["FacebookConnector"]
