from datetime import datetime
from typing import Annotated

import msgspec

MIN_EXPIRES_IN_S = 60
MAX_EXPIRES_IN_S = 7 * 24 * 3600
DEFAULT_EXPIRES_IN_S = 3600


class PortalAccessIn(msgspec.Struct, forbid_unknown_fields=True):
    expires_in: Annotated[int, msgspec.Meta(ge=MIN_EXPIRES_IN_S, le=MAX_EXPIRES_IN_S)] = (
        DEFAULT_EXPIRES_IN_S
    )
    read_only: bool = False


class PortalAccessOut(msgspec.Struct):
    url: str
    token: str
    expires_at: datetime

    def __repr__(self) -> str:  # never log the token
        return f"PortalAccessOut(expires_at={self.expires_at!r})"
