"""``GcsBucket.upload_from_dataframe`` and its formats, as prefect-gcp has them (pandas is imported
only when a DataFrame is uploaded)."""

from __future__ import annotations

import io
from enum import Enum
from typing import TYPE_CHECKING, Any

from headwater.errors import ConfigError

if TYPE_CHECKING:
    from headwater_gcs._bucket import GcsBucket

__all__ = ["DataFrameSerializationFormat", "upload_dataframe"]


class DataFrameSerializationFormat(Enum):
    """How ``upload_from_dataframe`` writes a DataFrame; the member names are prefect-gcp's."""

    CSV = "csv"
    CSV_GZIP = "csv_gzip"
    PARQUET = "parquet"
    PARQUET_SNAPPY = "parquet_snappy"
    PARQUET_GZIP = "parquet_gzip"

    @property
    def format(self) -> str:
        """``"csv"`` or ``"parquet"``."""
        return _WRITERS[self][0]

    @property
    def compression(self) -> str | None:
        """What pandas compresses with (``None``, ``"gzip"``, ``"snappy"``)."""
        return _WRITERS[self][1]

    @property
    def content_type(self) -> str:
        """The Content-Type the object is stored with."""
        return _WRITERS[self][2]

    @property
    def suffix(self) -> str:
        """The file name ending the object gets."""
        return _WRITERS[self][3]

    def fix_extension_with(self, gcs_blob_path: str) -> str:
        """``gcs_blob_path`` ending in :attr:`suffix` instead of its extension (up to two, as
        prefect-gcp does: ``data.tar.gz`` -> ``data.csv``)."""
        folder, _, name = gcs_blob_path.rpartition("/")
        stem = _without_extension(_without_extension(name))
        return f"{folder}/{stem}{self.suffix}" if folder else f"{stem}{self.suffix}"


def _without_extension(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name  # a leading dot starts a name, not an extension


_BINARY = "application/octet-stream"
# format -> (pandas writer, compression, content type, suffix)
_WRITERS: dict[DataFrameSerializationFormat, tuple[str, str | None, str, str]] = {
    DataFrameSerializationFormat.CSV: ("csv", None, "text/csv", ".csv"),
    DataFrameSerializationFormat.CSV_GZIP: ("csv", "gzip", "application/x-gzip", ".csv.gz"),
    DataFrameSerializationFormat.PARQUET: ("parquet", None, _BINARY, ".parquet"),
    DataFrameSerializationFormat.PARQUET_SNAPPY: ("parquet", "snappy", _BINARY, ".snappy.parquet"),
    DataFrameSerializationFormat.PARQUET_GZIP: ("parquet", "gzip", _BINARY, ".gz.parquet"),
}


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
