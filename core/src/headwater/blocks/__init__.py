"""Blocks: typed, secret-safe configuration saved by name."""

from headwater.blocks.core import Block, BlockInUseError, BlockMigrationError, BlockSchemaWarning
from headwater.blocks.object_storage import ObjectStorage, iter_local_files, join_key
from headwater.blocks.system import LocalFileSystem, Secret
from headwater.blocks.types import SecretBytes, SecretDict, SecretStr

__all__ = [
    "Block",
    "BlockInUseError",
    "BlockMigrationError",
    "BlockSchemaWarning",
    "LocalFileSystem",
    "ObjectStorage",
    "Secret",
    "SecretBytes",
    "SecretDict",
    "SecretStr",
    "iter_local_files",
    "join_key",
]
