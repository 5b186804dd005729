"""The module ``herald worker`` hands to Dramatiq's CLI: each worker process imports it.

This is a process boundary, so it reads the environment here, once.
"""

import os

from app.config import load_settings
from app.eventloop import install_uvloop
from app.logs import configure_logging
from workers.malloc import limit_malloc_arenas
from workers.stack import build_worker_stack

_settings = load_settings(os.environ)
configure_logging(_settings.log_level)
# Before Dramatiq starts this process's threads, and its AsyncIO middleware the loop.
install_uvloop()
limit_malloc_arenas()
broker = build_worker_stack(_settings).broker
