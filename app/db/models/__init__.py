"""Every table, importable from one place (Alembic's autogenerate reads ``Base.metadata``)."""

from app.db.models.attempt import Attempt
from app.db.models.delivery import Delivery
from app.db.models.endpoint import Endpoint, EndpointSecret
from app.db.models.event_type import EventType
from app.db.models.message import Message
from app.db.models.portal_token import PortalToken
from app.db.models.project import ApiKey, Project
from app.db.models.replay import Replay
from app.db.models.staff import LoginFailure, StaffAccount
from app.db.models.tenant import Tenant

__all__ = [
    "ApiKey",
    "Attempt",
    "Delivery",
    "Endpoint",
    "EndpointSecret",
    "EventType",
    "LoginFailure",
    "Message",
    "PortalToken",
    "Project",
    "Replay",
    "StaffAccount",
    "Tenant",
]
