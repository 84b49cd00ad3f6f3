"""SQLAlchemy Core table definitions of the store (the schema's current shape)."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

schema_migrations = Table(
    "headwater_schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied", Float, nullable=False),
)

block_documents = Table(
    "block_documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("slug", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("data", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("schema_checksum", String(80), nullable=False),
    Column("checksum", String(80), nullable=False),
    Column("dist", String(200)),
    Column("dist_version", String(100)),
    Column("module", String(300)),
    Column("class_name", String(200)),
    Column("secrets_backend", String(100)),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    UniqueConstraint("slug", "name", name="uq_block_documents_slug_name"),
)

block_secrets = Table(
    "block_secrets",
    metadata,
    Column("document_id", String(36), ForeignKey("block_documents.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(500), primary_key=True),
    Column("backend", String(100), nullable=False),
    Column("stored", Text),
)
