"""The simulated Zendesk Support API: organizations (customers), tickets and ticket metrics.

The model generates the whole timeline from ``org.start`` to ``org.horizon`` at construction;
the service shows it as of the clock. What a ground-truth module should read:

- ``ZendeskModel.organizations``: :class:`Organization` (``id``, ``created_at``, ``updates``).
  A customer is active in a month when ``created_at`` is before the month's end.
- ``ZendeskModel.tickets``: :class:`Ticket` (``id``, ``created_at``, ``organization_id``,
  ``events``) with ``status_at(now)``, ``is_deleted(now)``, ``tags_at(now)``,
  ``solved_at(now)`` (the metric's value), ``handle_time_seconds(now)``,
  ``generated_at(now)`` and ``updated_at(now)``.
- ``ZendeskModel.truth(now)``: the exact records of the raw tables ``tickets``,
  ``ticket_metrics`` and ``organizations`` that a complete export sees at ``now``.
- ``ZendeskModel.handle_time_field_id`` and ``trust_tags`` (from ``org.catalog()``),
  ``first_organization_at``. The handle-time value is served as a string of seconds
  (``"1860"``), as Zendesk serves numeric custom fields. A ticket's metric set has id
  ``Ticket.metric_id``; a deleted ticket keeps its metric set, frozen at deletion.

Quirks the model produces on purpose:

- no organization in the first calendar month (January): a month with tickets and no
  customers; every ticket created before the first organization has no organization (unless
  ``Scale.established_customers`` puts customers before the history; then tickets also
  arrive in proportion to the customers, ``Scale.tickets_per_customer_month``);
- the closing automation closes every ticket solved 4+ days ago nightly at 03:17:00, so
  many tickets share one ``generated_timestamp`` second (across page boundaries too); the
  weekly CRM sync updates several organizations at 02:05:00 (same second), and a bulk
  import creates the 2nd-4th organizations in one second;
- system changes (a late handle-time write by the time-tracking integration, a satisfaction
  survey being sent) move ``generated_timestamp`` but not ``updated_at``;
- deleted tickets (``status: deleted``), reopened tickets, tickets without the handle-time
  field, and tickets whose handle time stays null;
- every change avoids the minute before a whole hour (and the hour's first second), so at a
  clock on a whole hour nothing is held back by the export's one-minute delay and
  ``truth(now)`` is exactly what a full export returns.

The package, by seam: :mod:`.account` (ids, vocabulary and time helpers), :mod:`.entities`
(organizations and tickets with their timelines), :mod:`.render` (the JSON Zendesk returns),
:mod:`.model` (the generation and export orders) and :mod:`.service` (the exports over HTTP).
"""

from simulator.zendesk.account import (
    ACCOUNT_URL,
    ESCALATED_FIELD_ID,
    HOLD_BACK_SECONDS,
    METRIC_ID_BASE,
    PRODUCT_FIELD_ID,
    STATUSES,
    business_minutes,
)
from simulator.zendesk.entities import Organization, Ticket, TicketEvent
from simulator.zendesk.model import ZendeskModel
from simulator.zendesk.service import ZendeskService, decode_cursor, encode_cursor

__all__ = [
    "ACCOUNT_URL",
    "ESCALATED_FIELD_ID",
    "HOLD_BACK_SECONDS",
    "METRIC_ID_BASE",
    "PRODUCT_FIELD_ID",
    "STATUSES",
    "Organization",
    "Ticket",
    "TicketEvent",
    "ZendeskModel",
    "ZendeskService",
    "business_minutes",
    "decode_cursor",
    "encode_cursor",
]
