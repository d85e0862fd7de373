"""The deadlines of a referral's steps and a network's own values for them: one place for the
names and what a value may be.

A network admin sets working days per step and urgency in the portal (/admin/deadlines); intake
stores them with the network and puts them into every `referral_submitted` of that network
(`payload.deadlines = {"normal": {step: days}, "urgent": {...}}`); the bridge lays them over the
defaults of workflows/config.py when it starts the workflow. A running referral keeps the values
it started with (they are part of its workflow input).

No i18n import here (workflow code imports the names): `DeadlineError.text()` renders the
message where it is shown."""
from __future__ import annotations

# the steps whose deadline is a number of working days (workflows/referral/shared.py Deadlines)
STEPS = ("draft", "school_efforts", "school_efforts_reminder", "triage", "information",
         "matching", "partner_response", "partner_reminder", "first_feedback",
         "feedback_interval", "closure")
URGENCIES = ("normal", "urgent")
MIN_DAYS, MAX_DAYS = 1, 60
# (reminder, deadline): the reminder must come first
ORDER = (("school_efforts_reminder", "school_efforts"), ("partner_reminder", "partner_response"))


class DeadlineError(ValueError):
    """A value that cannot be a deadline; `key` and `values` are the catalogue message."""

    def __init__(self, key: str, **values):
        super().__init__(f"{key} {values}")
        self.key = key
        self.values = values

    def text(self) -> str:
        from netsterk.i18n import both

        return both(self.key, **self.values)


def clean(overrides) -> dict:
    """`{urgency: {step: days}}` with only known urgencies and steps and whole numbers of working
    days within MIN_DAYS..MAX_DAYS; empty urgencies dropped. DeadlineError names the first problem."""
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise DeadlineError("deadlines.not_a_mapping")
    cleaned: dict = {}
    for urgency, steps in overrides.items():
        if urgency not in URGENCIES:
            raise DeadlineError("deadlines.unknown_urgency", urgency=str(urgency)[:32])
        if not isinstance(steps, dict):
            raise DeadlineError("deadlines.not_a_mapping")
        for step, days in steps.items():
            if step not in STEPS:
                raise DeadlineError("deadlines.unknown_step", step=str(step)[:64])
            if not isinstance(days, int) or isinstance(days, bool) or not MIN_DAYS <= days <= MAX_DAYS:
                raise DeadlineError("deadlines.out_of_range", step=step, low=MIN_DAYS, high=MAX_DAYS)
        if steps:
            cleaned[urgency] = {step: steps[step] for step in STEPS if step in steps}
    return cleaned


def check_order(days: dict) -> None:
    """Every reminder before its deadline, in one urgency's complete set of working days."""
    for reminder, deadline in ORDER:
        if days[reminder] >= days[deadline]:
            raise DeadlineError("deadlines.reminder_after_deadline", reminder=reminder, deadline=deadline)


def merged(defaults: dict, overrides: dict) -> dict:
    """`{urgency: {step: days}}`: the defaults with a network's (cleaned) values over them."""
    return {urgency: {step: (overrides.get(urgency) or {}).get(step, defaults[urgency][step]) for step in STEPS}
            for urgency in URGENCIES}
