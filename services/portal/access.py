"""Who may do what in the portal: ONE table of role x action, and the scoping rules (network,
organisation) every handler goes through. A page never checks a role itself; it asks
`require(user, action)` and scopes data with `in_network` / `own_engagement`."""
from __future__ import annotations

import hmac

from netsterk.i18n import both

# action -> the roles allowed to do it (DESIGN §7)
POLICY: dict[str, frozenset[str]] = {name: frozenset(roles) for name, roles in {
    # coordinator: the referral work of one network
    "inbox.view": ("coordinator",),
    "referral.view": ("coordinator",),
    "referral.act": ("coordinator",),
    "referral.enter_phone": ("coordinator",),
    "mail.view": ("coordinator",),
    "mail.reprocess": ("coordinator",),
    # partner staff: their own organisation's engagements and directory entry
    "engagement.list_own": ("partner_staff",),
    "engagement.act_own": ("partner_staff",),
    "engagement.report_direct": ("partner_staff",),
    "directory.edit_own": ("partner_staff", "network_admin"),
    # the directory and the figures
    "directory.view": ("network_admin", "coordinator", "partner_staff", "analyst"),
    "directory.gaps": ("network_admin", "coordinator", "analyst"),
    "directory.approve": ("network_admin",),
    "directory.rules": ("network_admin",),
    "reports.view": ("analyst", "coordinator", "network_admin"),
    # network admin
    "admin.users": ("network_admin",),
    "admin.settings": ("network_admin",),
    # e-mails that were not sent, bouncing addresses; the network's own e-mail wording (issue 7)
    "notifications.failed": ("coordinator", "network_admin"),
    "notifications.templates": ("network_admin",),
    # the language each staff or partner address gets its e-mails in (the coordinators' mailbox...)
    "notifications.languages": ("network_admin", "coordinator"),
    # privacy (issue 10): rights of access / erasure, and the audit log
    "privacy.rights": ("coordinator",),
    "privacy.audit": ("network_admin",),
    # personal API tokens: only roles that sign in with a second factor (auth.TOTP_ROLES)
    "account.tokens": ("coordinator", "partner_staff", "network_admin", "ops"),
    # ops: the health of the system, no personal data
    "ops.view": ("ops",),
    "ops.replay": ("ops",),
}.items()}

# where each role lands after signing in
HOME = {"coordinator": "/", "partner_staff": "/partner", "network_admin": "/admin",
        "analyst": "/reports", "ops": "/ops"}


class LoginRequired(Exception):
    """No (valid) session or credentials: log in first."""


class Refused(Exception):
    """A request that ends in a clear message for the user, with its HTTP status (and, for a
    429, the seconds to wait: the Retry-After header)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def allowed(user, action: str) -> bool:
    if action not in POLICY:
        raise KeyError(f"unknown action {action!r}")
    return user is not None and bool(getattr(user, "network", None)) \
        and getattr(user, "active", True) is not False and user.role in POLICY[action]


def require(user, action: str):
    """The user when they may do `action`; else LoginRequired (anonymous) or 403."""
    if user is None:
        raise LoginRequired()
    if not allowed(user, action):
        raise Refused(403, both("portal.forbidden"))
    return user


def not_found() -> Refused:
    return Refused(404, both("portal.error.not_found"))


def in_network(user, snapshot) -> dict:
    """A referral of the user's own network; any other (or none) is 404, never its data."""
    if not isinstance(snapshot, dict) or snapshot.get("network") != user.network:
        raise not_found()
    return snapshot


def mail_in_network(user, mail) -> dict:
    """An incoming mail of the user's network, or one no network was found for (the quarantine's
    unassigned mail is every coordinator's to sort out); any other (or none) is 404."""
    if not isinstance(mail, dict) or mail.get("network") not in (None, user.network):
        raise not_found()
    return mail


def own_engagement(user, snapshot: dict, engagement_token: str | None = None) -> dict:
    """The engagement of the partner's own organisation on this referral (the newest when there
    are several), or the one with `engagement_token` if it is theirs; else 404."""
    in_network(user, snapshot)
    mine = [g for g in snapshot.get("engagements") or []
            if g.get("organisation_id") and g.get("organisation_id") == user.organisation_id]
    if engagement_token is not None:
        mine = [g for g in mine if hmac.compare_digest(str(g.get("token") or "").encode(),
                                                       engagement_token.encode())]
    if not mine:
        raise not_found()
    return mine[-1]


def home(user) -> str:
    return HOME.get(getattr(user, "role", None), "/")
