"""Fixtures of the browser tests: the monitor settings of the monitor's API tests."""

from tests.integration.test_monitor_api import api_settings

__all__ = ["api_settings"]
