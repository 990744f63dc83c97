"""YouTube channels through the YouTube Data API v3 (google-api-python-client). See docs/connectors-youtube.md."""

from connectors.youtube.connector import YouTubeConnector

__all__ = ["YouTubeConnector"]
