"""``herald rotate-master-key``: re-seal every endpoint secret under HERALD_SECRET_KEY,
bound to its row (values sealed unbound by earlier versions included).

The rotation, with no downtime: (1) restart every process with the new key in
HERALD_SECRET_KEY and the old one in HERALD_OLD_SECRET_KEYS (they open both, seal with the
new one); (2) run this command; (3) drop HERALD_OLD_SECRET_KEYS. Each batch is its own
short transaction, so it can be interrupted and run again.
"""

from collections.abc import Callable

from app.config import Settings
from app.db.session import Database, commit
from app.endpoints.secrets import reseal_batch
from app.secretbox import secret_box_for


async def rotate_master_key(
    settings: Settings, on_batch: Callable[[int, int], None] | None = None, batch: int = 500
) -> tuple[int, int]:
    """Re-seal all secrets; return (seen, re-sealed). Raises ValueError without a key."""
    box = secret_box_for(settings)
    if box is None:
        raise ValueError("set HERALD_SECRET_KEY to the new master key")
    database = Database(settings.database_url)
    seen = resealed = 0
    cursor: str | None = ""
    try:
        while cursor is not None:
            async with database.session() as session:
                count, changed, cursor = await reseal_batch(session, box, cursor, batch)
                await commit(session)
            seen, resealed = seen + count, resealed + changed
            if on_batch is not None:
                on_batch(seen, resealed)
    finally:
        await database.dispose()
    return seen, resealed
