"""Outbox and notifications: messages written with the change that caused them, sent later.

The public API (stable; contracts, digests, approvals and alerts use it):

- `enqueue_email(session, to, subject, body, key=...)` and
  `enqueue_webhook(session, url, payload, key=...)` add a message in the caller's
  transaction: if the change rolls back, so does the message. The same `key` twice keeps one.
- `notify(session, user, subject, body, link=..., key=..., email=True)` puts an item in the
  user's in-app inbox and, when they have an address, queues an e-mail too.
- `inbox(session, user)`, `mark_read(session, user, item_id)` read the in-app inbox.
- `deliver_due(engine, settings)` (run by `salesops worker`) sends what is due: SMTP for
  e-mail, an HTTP POST for webhooks. A failure is retried with exponential backoff up to
  `max_attempts`, then the message is `dead`.

Never twice: a message is claimed (status `sending`) and committed before it is sent, so no
second worker can take it; a worker that dies mid-send leaves it `sending`, and after
`CLAIM_TIMEOUT` it becomes `unknown` (we cannot tell whether it left) instead of being sent
again; `requeue` sends it again on an operator's word. Each webhook carries an
`Idempotency-Key` and each e-mail a stable Message-ID so receivers can drop a duplicate.
"""

from salesops.outbox.delivery import CLAIM_TIMEOUT, DeliveryReport, deliver_due
from salesops.outbox.service import (
    enqueue_email,
    enqueue_webhook,
    inbox,
    list_messages,
    mark_read,
    notify,
    requeue,
)

__all__ = [
    "CLAIM_TIMEOUT",
    "DeliveryReport",
    "deliver_due",
    "enqueue_email",
    "enqueue_webhook",
    "inbox",
    "list_messages",
    "mark_read",
    "notify",
    "requeue",
]
