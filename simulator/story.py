"""The demo organisation's platform bets: investments shipped on a date, and what each one
changes in the generated activity from that date on.

The effects live in the models (what GitHub, PagerDuty and Zendesk generate), never in the
ground truth, so ``simulator.truth`` stays an independent reading of the served records:

- deploy safety (canary releases with automated rollback): from ``deploy_safety`` on, a bad
  release is usually stopped during its canary and ends as a failed deployment, instead of
  reaching production and being rolled back or paging someone; incidents on the teams'
  services fall with it. The change failure rate drops clearly.
- data reconciliation: from ``reconciliation`` on, a nightly job repairs late-arriving rows.
  Most "numbers differ" tickets come from customers' own metric definitions, which it does not
  touch, so trust tickets barely move: within the noise of the weekly values.
- access controls (one permission model with an exportable audit log): from
  ``access_controls`` on, fewer enterprise-blocker tickets; shipped recently, so the catalog's
  bet is still inside its evaluation window.

``Story.catalog_bets()`` and ``TICKET_THEMES`` are what the demo catalog says about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

TRUST_TAGS = ("data_mismatch", "data_quality")
ENTERPRISE_BLOCKER_TAGS = ("sso", "permissions", "audit_log")
TICKET_THEMES = {"trust": TRUST_TAGS, "enterprise_blocker": ENTERPRISE_BLOCKER_TAGS}

# Deploy safety: the share of would-be rolled back releases the canary stops, and the factor
# on the teams' incident rates (most incidents start with a release).
CANARY_CATCH = 0.8
INCIDENTS_AFTER_CANARY = 0.45
# Reconciliation: the factor on tickets tagged trust at random (late-arriving data); tickets
# about metric definitions ("numbers differ from our warehouse") keep coming.
LATE_DATA_TRUST_AFTER = 0.8
# Enterprise blockers: the chance a ticket carries one, by the customer's tier, and the
# factor once access controls ship.
ENTERPRISE_BLOCKER_RATE = {"enterprise": 0.3, "growth": 0.06, "starter": 0.02}
ENTERPRISE_BLOCKERS_AFTER = 0.5


@dataclass(frozen=True)
class Story:
    """Ship dates of the bets (UTC days); each effect starts at 00:00 of its date."""

    deploy_safety: date
    reconciliation: date
    access_controls: date

    def shifted(self, by: timedelta) -> Story:
        """The same story, every ship date moved by ``by`` (whole days)."""
        return Story(self.deploy_safety + by, self.reconciliation + by, self.access_controls + by)

    @staticmethod
    def _since(day: date, at: datetime) -> bool:
        return at >= datetime(day.year, day.month, day.day, tzinfo=UTC)

    def canary_on(self, at: datetime) -> bool:
        return self._since(self.deploy_safety, at)

    def incident_factor(self, at: datetime) -> float:
        return INCIDENTS_AFTER_CANARY if self.canary_on(at) else 1.0

    def late_data_trust_factor(self, at: datetime) -> float:
        return LATE_DATA_TRUST_AFTER if self._since(self.reconciliation, at) else 1.0

    def enterprise_blocker_rate(self, tier: str | None, at: datetime) -> float:
        rate = ENTERPRISE_BLOCKER_RATE.get(tier or "", 0.0)
        return rate * (ENTERPRISE_BLOCKERS_AFTER if self._since(self.access_controls, at) else 1)

    def catalog_bets(self) -> list[dict]:
        """The bets as the platform lead wrote them in the catalog: constraint, bet, the
        outcome KPI and the better direction."""
        return [
            {
                "id": "deploy-safety",
                "constraint": "One release in six is rolled back or pages someone, so teams "
                "batch changes and ship less often than the roadmap needs.",
                "bet": "Canary releases with automated rollback on every production deploy: "
                "a bad release stops at 5% of traffic instead of reaching every customer.",
                "kpi": "change_failure_rate",
                "direction": "down",
                "shipped_on": self.deploy_safety,
            },
            {
                "id": "data-reconciliation",
                "constraint": "Customers find numbers that differ from their own warehouse; "
                "each such ticket costs an analyst a day and puts renewals at risk.",
                "bet": "A nightly reconciliation job that compares every customer's totals "
                "with the source systems and repairs late-arriving rows.",
                "kpi": "trust_tickets_per_1k_customers",
                "direction": "down",
                "shipped_on": self.reconciliation,
            },
            {
                "id": "access-controls",
                "constraint": "Enterprise deals stall in security review: SSO, permissions "
                "and audit logs work differently in every part of the product.",
                "bet": "One permission model across the product, SSO for every plan and an "
                "exportable audit log.",
                "kpi": "enterprise_blocker_tickets_per_1k_customers",
                "direction": "down",
                "shipped_on": self.access_controls,
            },
        ]
