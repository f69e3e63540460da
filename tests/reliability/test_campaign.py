"""The fault campaign at CI size: ~200 requests, every fault type at least once,
then the checker's verdict must be clean (the full size: ``make reliability``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.campaign import Campaign
from tests.reliability.faults import FAULT_TYPES

pytestmark = pytest.mark.slow

REQUESTS = int(os.environ.get("DISCFLOW_CAMPAIGN_REQUESTS", "200"))


def test_fault_campaign_loses_nothing(tmp_path: Path, database_url: str) -> None:
    campaign = Campaign(tmp_path, requests=REQUESTS, seed=7, database_url=database_url)
    verdict = campaign.run(drain_s=600)
    table = campaign.table(verdict)
    print(table)
    assert verdict.ok, "\n".join([table, *verdict.problems[:30]])
    assert verdict.lost == 0 and verdict.doubled == 0
    assert set(campaign.tally.injected) == set(FAULT_TYPES), campaign.tally.injected
    assert campaign.tally.recovered == campaign.tally.injected, table
    assert verdict.devices_reconciled == verdict.devices_checked
    assert verdict.failed_discs > 0, "the failing sim drive never failed a disc"
