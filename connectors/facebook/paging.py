"""Graph paging on the SDK's own `Cursor`, one page per request so the caller can count each one.

The SDK's `Cursor` follows cursor paging (`paging.cursors.after`, only while `paging.next` is
present). Page feeds (`/posts`, `/tagged`, `/visitor_posts`) page on time instead: `paging.next`
carries `until` and `__paging_token` and there are no `cursors`, so the SDK would stop after the
first page. `GraphCursor` keeps the SDK's behaviour and, for time paging, copies the paging
parameters of `paging.next` into its params (never its token: the session adds its own).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from facebook_business.api import Cursor

# Parameters of a `paging.next` URL that are not paging state: the session's own credentials,
# the field list we asked for, and formatting.
_NOT_PAGING = frozenset({"access_token", "appsecret_proof", "fields", "pretty", "summary", "filter", "limit"})


class GraphCursor(Cursor):  # type: ignore[misc]
    """The SDK cursor, yielding raw Graph dicts, one page per `load_next_page()`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page: list[dict[str, Any]] = []
        self.pages_read = 0

    @property
    def finished(self) -> bool:
        return bool(getattr(self, "_finished_iteration", False))

    def build_objects_from_response(self, response: Any) -> list[dict[str, Any]]:
        # Called by Cursor.load_next_page after it has decided about cursor paging.
        if not isinstance(response, dict):
            raise ValueError("Graph answered with a body that is not a JSON object")
        paging = response.get("paging") or {}
        if self.finished and paging.get("next") and not (paging.get("cursors") or {}).get("after"):
            self.params.update(next_page_params(paging["next"]))
            self._finished_iteration = False
        data = response.get("data") or []
        if not isinstance(data, list):
            raise ValueError("Graph answered with 'data' that is not a list")
        self.page = [item for item in data if isinstance(item, dict)]
        self.pages_read += 1
        return list(self.page)


def next_page_params(next_url: str) -> dict[str, str]:
    """The paging parameters (until, since, __paging_token, after...) of a `paging.next` URL."""
    query = parse_qsl(urlsplit(next_url).query, keep_blank_values=False)
    return {name: value for name, value in query if name not in _NOT_PAGING}
