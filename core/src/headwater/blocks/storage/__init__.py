"""Former name of :mod:`headwater.blocks.object_storage`, kept for plugins written against it.

It is a package rather than a ``storage.py`` module so that git follows the rename of the
old file. New code imports ``headwater.blocks.object_storage`` (or ``headwater.blocks``).
"""

from headwater.blocks.object_storage import *  # noqa: F403
from headwater.blocks.object_storage import __all__  # noqa: F401
