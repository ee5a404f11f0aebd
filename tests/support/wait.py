"""Waiting on state, never on the clock: poll a condition until it holds or time is up."""
import time


def wait_for(condition, timeout: float = 15.0, interval: float = 0.05, message: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
