"""Waiting for a condition, with a deadline: never for a fixed time, so a loaded CI machine only
makes a test slower, not red. Polls start fast and back off (tenacity)."""

from __future__ import annotations

from collections.abc import Callable

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential


def wait_for(condition: Callable[[], bool], deadline: float, what: str) -> None:
    """Until `condition()` is true; AssertionError naming `what` after `deadline` seconds. An exception
    from `condition` fails at once (wrap it if a transient error is expected)."""
    polling = Retrying(
        stop=stop_after_delay(deadline),
        wait=wait_exponential(multiplier=0.01, max=0.5),
        retry=retry_if_result(lambda met: not met),
    )
    try:
        polling(condition)
    except RetryError:
        raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}") from None
