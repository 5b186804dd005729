"""The console's action log: one line per state-changing console action.

Each line names the staff account, the action and the ids of the objects it touched, as
``key=value`` pairs, and nothing else: no e-mail, password, cookie, token or payload.
"""

import logging

log = logging.getLogger("herald.console")


def log_action(staff_id: str, action: str, **objects: str | None) -> None:
    """Log ``console <action> staff=<id> k=v …`` (``objects`` that are None are left out)."""
    named = " ".join(f"{key}={value}" for key, value in objects.items() if value is not None)
    log.info("console %s staff=%s%s", action, staff_id, f" {named}" if named else "")
