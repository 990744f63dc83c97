"""The `web` connector: WordPress sites (REST API) and RSS/Atom feeds."""

from connectors.web.connector import WebConnector

__all__ = ["WebConnector"]
