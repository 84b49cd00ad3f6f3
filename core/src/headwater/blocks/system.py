"""Core's own blocks: :class:`Secret` and :class:`LocalFileSystem`."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import Field, SecretStr, model_validator

from headwater.blocks.core import Block
from headwater.blocks.object_storage import ObjectStorage, contained_path, iter_local_files, join_key
from headwater.errors import BlockValidationError, ObjectNotFoundError, StorageError

__all__ = ["LocalFileSystem", "Secret"]


class Secret(Block):
    """A single secret value: a string, or any JSON value.

    Example:
        >>> Secret(value="s3cr3t").save("api-token")       # doctest: +SKIP
        >>> Secret.load("api-token").get()                  # doctest: +SKIP
        's3cr3t'
    """

    value: SecretStr = Field(description="The secret: a string, or JSON (dict/list) stored as text.")
    is_json: bool = Field(default=False, description="Whether value holds JSON that get() parses.")

    @model_validator(mode="before")
    @classmethod
    def _json_values(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("value"), (dict, list, int, float, bool)):
            data = {**data, "value": json.dumps(data["value"]), "is_json": True}
        return data

    @model_validator(mode="after")
    def _json_text(self) -> Secret:
        if self.is_json:
            try:
                json.loads(self.value.get_secret_value())
            except ValueError:
                raise ValueError("is_json is true but value is not valid JSON (the value is not shown)") from None
        return self

    def get(self) -> Any:
        """The secret's value: the string, or the parsed JSON value.

        Raises:
            BlockValidationError: ``is_json`` is true but the stored value is not JSON.
        """
        raw = self.value.get_secret_value()
        if not self.is_json:
            return raw
        try:
            return json.loads(raw)
        except ValueError:
            where = f"secret/{self.block_document_name}" if self.block_document_name else "this Secret"
            raise BlockValidationError(
                f"{where} has is_json=true but its value is not valid JSON: save it again with a JSON value "
                f"(or is_json=false)"
            ) from None


class LocalFileSystem(ObjectStorage):
    """A folder on the local disk, with the same interface as the cloud storage blocks.

    Paths are relative to ``basepath``; a path that would escape it is refused.
    """

    basepath: str | None = Field(
        default=None,
        description="The folder that paths are relative to (default: the working directory). A relative "
        "folder is made absolute when the block is saved, so a loaded block means the same folder anywhere.",
    )

    def save(self, name: str, overwrite: bool = False, *, replace: bool = False) -> str:
        if self.basepath and not self.basepath.startswith("~") and not Path(self.basepath).is_absolute():
            self.basepath = str(Path(self.basepath).resolve())
        return super().save(name, overwrite, replace=replace)

    def _root(self) -> Path:
        return Path(self.basepath or ".").expanduser().resolve()

    def _resolve(self, path: str | os.PathLike[str] | None) -> Path:
        root = self._root()
        if path in (None, ""):
            return root
        target = Path(path).expanduser()
        if not target.is_absolute():
            target = root / contained_path(path)
        target = target.resolve()
        if target != root and root not in target.parents:
            raise StorageError(f"path {str(path)!r} is outside the block's basepath {str(root)!r}")
        return target

    def _key(self, path: Path) -> str:
        return path.relative_to(self._root()).as_posix()

    def read_path(self, path: str) -> bytes:
        target = self._resolve(path)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFoundError(f"no file {path!r} in {self._root()}") from None

    def write_path(self, path: str, content: bytes) -> str:
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.hw-partial")
        tmp.write_bytes(content)
        os.replace(tmp, target)
        return str(target)

    def list_objects(self, folder: str = "") -> list[dict[str, Any]]:
        base = self._resolve(folder)
        if not base.exists():
            return []
        out = []
        for path, _rel in iter_local_files(base):
            st = path.stat()
            out.append({
                "key": self._key(path),
                "name": self._key(path),
                "size": st.st_size,
                "last_modified": datetime.fromtimestamp(st.st_mtime, tz=timezone.utc),
            })
        return out

    def upload_from_path(self, from_path: str | os.PathLike[str], to_path: str | None = None, **kwargs: Any) -> str:
        source = Path(from_path)
        if not source.is_file():
            raise ObjectNotFoundError(f"no local file {str(source)!r} to upload")
        target = self._resolve(to_path or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target:
            tmp = target.with_name(f".{target.name}.hw-partial")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        return self._key(target)

    def upload_from_file_object(self, from_file_object: BinaryIO, to_path: str, **kwargs: Any) -> str:
        target = self._resolve(to_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.hw-partial")
        with open(tmp, "wb") as fh:
            shutil.copyfileobj(from_file_object, fh)
        os.replace(tmp, target)
        return self._key(target)

    def upload_from_folder(
        self, from_folder: str | os.PathLike[str], to_folder: str | None = None, skip_unchanged: bool = False,
        **kwargs: Any
    ) -> str | None:
        source = Path(from_folder)
        if not source.is_dir():
            raise ObjectNotFoundError(f"no local folder {str(source)!r} to upload")
        copied = False
        for path, rel in iter_local_files(source, kwargs.get("ignore_file")):
            target = self._resolve(join_key(to_folder, rel))
            if skip_unchanged and target.exists() and _same_file(path, target):
                copied = True
                continue
            self.upload_from_path(path, join_key(to_folder, rel))
            copied = True
        return (to_folder or "") if copied else None

    def download_object_to_path(self, from_path: str, to_path: str | os.PathLike[str] | None = None,
                                **kwargs: Any) -> Path:
        source = self._resolve(from_path)
        if not source.is_file():
            raise ObjectNotFoundError(f"no file {from_path!r} in {self._root()}")
        target = Path(to_path) if to_path is not None else Path(source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source != target.resolve():
            shutil.copyfile(source, target)
        return target

    def download_object_to_file_object(self, from_path: str, to_file_object: BinaryIO, **kwargs: Any) -> BinaryIO:
        source = self._resolve(from_path)
        if not source.is_file():
            raise ObjectNotFoundError(f"no file {from_path!r} in {self._root()}")
        with open(source, "rb") as fh:
            shutil.copyfileobj(fh, to_file_object)
        return to_file_object

    def download_folder_to_path(self, from_folder: str, to_folder: str | os.PathLike[str] | None = None,
                                **kwargs: Any) -> Path:
        source = self._resolve(from_folder)
        target = Path(to_folder) if to_folder is not None else Path(".")
        target.mkdir(parents=True, exist_ok=True)
        if not source.is_dir():
            raise ObjectNotFoundError(f"no folder {from_folder!r} in {self._root()}")
        for path, rel in iter_local_files(source):
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.resolve() != dest.resolve():
                shutil.copyfile(path, dest)
        return target

    def check(self) -> None:
        root = self._root()
        if not root.is_dir():
            raise ObjectNotFoundError(f"basepath {str(root)!r} does not exist or is not a folder")
        if not os.access(root, os.W_OK):
            raise StorageError(f"basepath {str(root)!r} is not writable")


def _same_file(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    import hashlib

    return hashlib.md5(a.read_bytes()).digest() == hashlib.md5(b.read_bytes()).digest()
