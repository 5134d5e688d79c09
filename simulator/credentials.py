"""The credentials the simulated APIs accept, in one place.

The services check them and :meth:`simulator.app.Simulator.env` hands them to the pipeline;
keeping them here (not in ``app``) lets each service import them without an import cycle.
"""

from __future__ import annotations

import base64

GITHUB_TOKEN = "sim-github-token"
PAGERDUTY_TOKEN = "sim-pagerduty-token"
ZENDESK_EMAIL = "sim-agent@acme.example"
ZENDESK_TOKEN = "sim-zendesk-token"


def zendesk_basic(email: str = ZENDESK_EMAIL, token: str = ZENDESK_TOKEN) -> str:
    return "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
