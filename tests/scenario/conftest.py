"""Shared set-up of the scenario tests: the ``slow`` marker (deselect with ``-m "not slow"``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register ``slow`` for tests that build a wheel or run subprocesses for seconds."""
    config.addinivalue_line("markers", "slow: takes seconds (e.g. builds a wheel); deselect with -m 'not slow'")
