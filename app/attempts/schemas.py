from datetime import datetime

import msgspec


class AttemptOut(msgspec.Struct):
    id: str
    message_id: str
    endpoint_id: str
    delivery_id: str
    status: str
    response_status_code: int | None
    response_body: str
    duration_ms: int
    error_kind: str | None
    error: str | None
    trigger: str
    created_at: datetime
