"""The names services and workflows use to reach each other over RabbitMQ: one place for them.

Events are nameko events: exchange `<source>.events` (topic), routing key = event type,
body = an envelope (netsterk.envelope). RPC is nameko RPC on the `nameko-rpc` exchange.
"""

# event sources (nameko service names, or a nameko-compatible publisher)
INTAKE = "intake"
MATCHING = "matching"
NOTIFICATIONS = "notifications"
REPORTING = "reporting"
PORTAL = "portal"
WORKFLOW = "referral_workflow"   # events published by workflow activities
BRIDGE = "workflow_bridge"       # RPC service run by the bridge (kombu, asyncio, no nameko)

# event types
REFERRAL_SUBMITTED = "referral_submitted"
REFERRAL_STATE_CHANGED = "referral_state_changed"
REFERRAL_TASK_UPDATED = "referral_task_updated"   # deadlines / attention changed without a move
REFERRAL_ANONYMISE = "referral_anonymise"         # retention ended: wipe this referral's personal data
ENGAGEMENT_CHANGED = "engagement_changed"         # an engagement's status changed (issue 5)
REFERRAL_ERASED = "referral_erased"               # intake: erasure on request (issue 10), wipe it too
PERSONAL_DATA_ACCESSED = "personal_data_accessed"  # portal: a read/change to audit in intake (issue 10)
ERASURE_CONFIRMED = "erasure_confirmed"           # <service>: its part of an erasure is done (references only)

# who wipes its copy of an erased referral and confirms it with `<source>.erasure_confirmed`
ERASURE_CONFIRMERS = (NOTIFICATIONS, PORTAL, REPORTING, MATCHING, BRIDGE)
# whose address a mail of the workflow goes to: intake resolves it at send time (RPC
# `intake.contact_address`), so no event and no workflow input carries an e-mail address
CONTACT_ROLES = ("reporter", "school_or_reporter", "school_other_than_reporter")

# the lifecycle states (DESIGN §4); the allowed moves live in workflows/referral/states.py
STATES = (
    "draft", "awaiting_school_efforts", "triage", "matching", "awaiting_partner",
    "in_progress", "closed", "redirected", "rejected", "withdrawn", "merged",
)
FINAL_STATES = ("closed", "redirected", "rejected", "withdrawn", "merged")

# the Temporal workflow id of a referral: derived from its id so a duplicate start is refused
def workflow_id(referral_id: str) -> str:
    return f"referral-{referral_id}"
