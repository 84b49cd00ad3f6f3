"""``GcsBucket.upload_from_dataframe`` and its formats, as prefect-gcp has them (pandas is imported
only when a DataFrame is uploaded)."""

from __future__ import annotations

import io
from enum import Enum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from headwater.errors import ConfigError

if TYPE_CHECKING:
    from headwater_gcs._bucket import GcsBucket

__all__ = ["DataFrameSerializationFormat", "upload_dataframe"]


class DataFrameSerializationFormat(Enum):
    """How ``upload_from_dataframe`` writes a DataFrame: (format, compression, content type, suffix)."""

    CSV = ("csv", None, "text/csv", ".csv")
    CSV_GZIP = ("csv", "gzip", "application/x-gzip", ".csv.gz")
    PARQUET = ("parquet", None, "application/octet-stream", ".parquet")
    PARQUET_SNAPPY = ("parquet", "snappy", "application/octet-stream", ".snappy.parquet")
    PARQUET_GZIP = ("parquet", "gzip", "application/octet-stream", ".gz.parquet")

    @property
    def format(self) -> str:
        return str(self.value[0])

    @property
    def compression(self) -> str | None:
        return self.value[1]

    @property
    def content_type(self) -> str:
        return str(self.value[2])

    @property
    def suffix(self) -> str:
        return str(self.value[3])

    def fix_extension_with(self, gcs_blob_path: str) -> str:
        """``gcs_blob_path`` with its last extension replaced by this format's suffix."""
        path = PurePosixPath(gcs_blob_path)
        return str(path.parent / PurePosixPath(path.stem).with_suffix(self.suffix))


def upload_dataframe(bucket: GcsBucket, df: Any, to_path: str, serialization_format: str | DataFrameSerializationFormat,
                     upload_kwargs: dict[str, Any]) -> str:
    if isinstance(serialization_format, str):
        try:
            serialization_format = DataFrameSerializationFormat[serialization_format.upper()]
        except KeyError:
            choices = ", ".join(repr(f.name.lower()) for f in DataFrameSerializationFormat)
            raise ConfigError(f"unknown serialization_format {serialization_format!r}; use one of {choices}") from None
    buffer = io.BytesIO()
    try:
        if serialization_format.format == "parquet":
            df.to_parquet(path=buffer, compression=serialization_format.compression, index=False)
        else:
            df.to_csv(path_or_buf=buffer, compression=serialization_format.compression, index=False)
    except ImportError as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot write the DataFrame as {serialization_format.name.lower()}: {reason} "
                          "(parquet needs `pip install pyarrow`)") from None
    buffer.seek(0)
    target = serialization_format.fix_extension_with(to_path)
    return bucket.upload_from_file_object(buffer, target, **{"content_type": serialization_format.content_type,
                                                              **upload_kwargs})
