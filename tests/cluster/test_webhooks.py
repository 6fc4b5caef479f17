"""PLACEHOLDER — webhooks across instances (filled in by the lead when the webhooks branch lands).

To check: a webhook subscribed for a job's terminal transition is delivered exactly once, by one
of the two instances, whichever instance wrote the change and even when both run the delivery
loop (and when one of them is kill -9'd mid-delivery).
"""

import pytest


@pytest.mark.skip(reason="webhooks land in a separate branch")
def test_webhook_delivered_exactly_once_by_one_instance():
    pass
