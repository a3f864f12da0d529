"""A wall clock for the Powertools parameters cache that tests move forward, instead of sleeping.

Powertools stamps each cached value with ``datetime.now() + max_age`` and compares with
``datetime.now()`` in ``aws_lambda_powertools.utilities.parameters.base``; ``install`` replaces that
module's ``datetime`` with one whose ``now`` runs ``advance``'d seconds ahead of the real clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import pytest
from aws_lambda_powertools.utilities.parameters import base


class CacheClock:
    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def advance(self, seconds: float) -> None:
        self.ahead += timedelta(seconds=seconds)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> CacheClock:
        # Should Powertools stop keeping time this way, the tests must fail here, not pass unawares.
        assert base.datetime is datetime, "Powertools' parameters cache no longer reads base.datetime"
        clock = self

        class _Shifted:
            @staticmethod
            def now(tz: tzinfo | None = None) -> datetime:
                return datetime.now(tz) + clock.ahead

        monkeypatch.setattr(base, "datetime", _Shifted)
        return self
