"""Session-scoped fixtures that start real servers on 127.0.0.1 (S3, GCS, PostgreSQL).

Each server's fixtures live in their own module, imported here so every test suite that
has headwater installed can use them.
"""

from __future__ import annotations

from headwater.testing._gcs import *  # noqa: F403
from headwater.testing._postgres import *  # noqa: F403
from headwater.testing._s3 import *  # noqa: F403
