"""Session-scoped fixtures that start real servers on 127.0.0.1 (S3, GCS, PostgreSQL).

Each server's fixtures live in their own module, imported here so every test suite that
has headwater installed can use them.
"""

from __future__ import annotations

from headwater.testing.gcs import *  # noqa: F403
from headwater.testing.postgres import *  # noqa: F403
from headwater.testing.s3 import *  # noqa: F403
