"""X / Twitter connector (tweepy, API v2). Registered as entry point `twitter` (alias `x`)."""

from connectors.twitter.connector import TwitterConnector

__all__ = ["TwitterConnector"]
