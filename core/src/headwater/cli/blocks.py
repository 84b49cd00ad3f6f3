"""``headwater block ...``: create, list, inspect, check and delete saved blocks."""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any

import click

from headwater.cli._output import emit, emit_object, format_time, output_option
from headwater.errors import HeadwaterError, UnknownBlockTypeError

__all__ = ["block"]


@click.group()
def block() -> None:
    """Create, list, inspect, check and delete saved blocks."""


@block.command("ls")
@click.option("--type", "slug", help="Only blocks of this type (slug).")
@output_option
def ls(slug: str | None, output: str) -> None:
    """List saved blocks."""
    from headwater.store.documents import list_documents

    rows = [
        {"ref": d.ref, "type": d.slug, "name": d.name, "provided_by": d.dist or d.module, "version": d.dist_version,
         "secret_fields": d.secret_fields, "updated": format_time(d.updated), "id": d.id}
        for d in list_documents(slug)
    ]
    emit(rows, ["ref", "provided_by", "updated"], output, empty="no blocks saved yet: headwater block create SLUG NAME --set field=value")


@block.command("inspect")
@click.argument("ref")
@output_option
def inspect_(ref: str, output: str) -> None:
    """Show a saved block (secrets masked): REF is SLUG/NAME or an unambiguous NAME."""
    from headwater.blocks.codec import display
    from headwater.store.documents import read_document

    doc = read_document(ref)
    emit_object(
        {
            "ref": doc.ref, "id": doc.id, "type": doc.slug, "class": f"{doc.module}.{doc.class_name}",
            "provided_by": f"{doc.dist} {doc.dist_version}" if doc.dist else "(user code)",
            "schema_version": doc.schema_version, "schema_checksum": doc.schema_checksum, "checksum": doc.checksum,
            "secrets_backend": doc.secrets_backend, "secret_fields": doc.secret_fields,
            "created": format_time(doc.created), "updated": format_time(doc.updated),
            "fields": display(doc.data),
        },
        output,
    )


def _resolve_type(slug: str) -> type:
    from headwater.plugins import block_type_registry

    info = block_type_registry().get(slug)
    if info is None:
        known = ", ".join(sorted(block_type_registry())) or "none"
        raise UnknownBlockTypeError(f"unknown block type {slug!r}: known types are {known} (plugins add more: headwater plugin ls)")
    return info.cls


def _import_modules(modules: tuple[str, ...]) -> None:
    import importlib

    if modules and "" not in sys.path:
        sys.path.insert(0, "")
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise click.UsageError(f"--module {module}: cannot import it ({exc})") from None


def _utf8(value: str | bytes, what: str) -> str:
    """``value`` as text; bytes that are not UTF-8 are refused without showing them (they are a secret)."""
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else value.encode("utf-8").decode("utf-8")
    except UnicodeError:
        raise click.UsageError(f"{what} is not UTF-8 text: give the secret as UTF-8 (for binary data, base64-encode it)") from None


def _read_secret(field: str, sources: dict[str, str], stdin_field: str | None, required: bool) -> str | None:
    if field in sources:
        var = sources[field]
        value = os.environ.get(var)
        if value is None:
            raise click.UsageError(f"--secret-env {field}={var}: environment variable {var} is not set")
        return _utf8(value, f"--secret-env {field}={var}: environment variable {var}")
    if stdin_field == field:
        stream = getattr(sys.stdin, "buffer", None)
        raw = stream.readline() if stream is not None else sys.stdin.readline()
        value = _utf8(raw, f"--secret-stdin {field}: standard input").rstrip("\r\n") if raw else ""
        if not value:
            raise click.UsageError(f"--secret-stdin {field}: nothing was read from standard input")
        return value
    if required:
        if sys.stdin.isatty():
            return click.prompt(f"{field} (hidden)", hide_input=True)
        raise click.UsageError(
            f"field {field!r} is secret and required: pass --secret-env {field}=VARIABLE or --secret-stdin {field} "
            f"(or run interactively to be prompted)"
        )
    return None


@block.command("create")
@click.argument("slug")
@click.argument("name")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="A field value (repeatable); nested blocks as SLUG/NAME, nested fields as a.b=value.")
@click.option("--secret-env", "secret_env", multiple=True, metavar="FIELD=VARIABLE",
              help="Read a secret field from an environment variable.")
@click.option("--secret-stdin", "secret_stdin", metavar="FIELD", help="Read one secret field from standard input.")
@click.option("--overwrite", is_flag=True, help="Replace an existing block of that name.")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE",
              help="Import MODULE first (a module of yours that defines block classes).")
@output_option
def create(slug: str, name: str, assignments: tuple[str, ...], secret_env: tuple[str, ...], secret_stdin: str | None,
           overwrite: bool, modules: tuple[str, ...], output: str) -> None:
    """Create (save) a block of type SLUG called NAME.

    Secret fields are prompted for with hidden input when interactive, or read with
    --secret-env / --secret-stdin; they never need to be on the command line.
    """
    from headwater.cli._fields import parse_assignments, secret_fields, secret_paths
    from headwater.naming import validate_name

    validate_name(name)
    _import_modules(modules)
    cls = _resolve_type(slug)
    sources: dict[str, str] = {}
    for item in secret_env:
        field, sep, var = item.partition("=")
        if not sep or not field or not var:
            raise click.UsageError(f"--secret-env {item!r} is not FIELD=VARIABLE")
        sources[field] = var
    secrets = secret_fields(cls)
    every_secret = secret_paths(cls)
    for field in [*sources, *([secret_stdin] if secret_stdin else [])]:
        if field not in every_secret:
            raise click.UsageError(
                f"{field!r} is not a secret field of {slug} (secret fields: {', '.join(every_secret) or 'none'})"
            )
    on_command_line = {item.partition("=")[0].strip() for item in assignments}
    for field in sorted(on_command_line & set(every_secret)):
        click.echo(f"warning: {field} was given on the command line, where shell history can see it; prefer --secret-env", err=True)
    nested = []  # nested secrets are set like --set a.b=..., without ever being on the command line
    for field in [f for f in every_secret if "." in f and f not in on_command_line]:
        value = _read_secret(field, sources, secret_stdin, False)
        if value is not None:
            nested.append(f"{field}={value}")
    values = parse_assignments(cls, [*assignments, *nested])
    for field, required in secrets.items():
        if field in on_command_line:
            continue
        value = _read_secret(field, sources, secret_stdin, required)
        if value is not None:
            values[field] = value
    instance = cls(**values)
    doc_id = instance.save(name, overwrite=overwrite)
    if output == "json":
        emit_object({"ref": f"{slug}/{name}", "id": doc_id}, output)
    else:
        click.echo(f"saved {slug}/{name}")


@block.command("delete")
@click.argument("ref")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete it even if other saved blocks refer to it.")
def delete(ref: str, yes: bool, force: bool) -> None:
    """Delete a saved block and its secrets: REF is SLUG/NAME.

    A block that other saved blocks refer to is kept unless --force is given.
    """
    from headwater.blocks.core import Block
    from headwater.store.documents import read_document

    doc = read_document(ref)
    if not yes and sys.stdin.isatty():
        click.confirm(f"delete {doc.ref}?", abort=True)
    Block.delete(doc.ref, force=force)
    click.echo(f"deleted {doc.ref}")


@block.command("check")
@click.argument("ref")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE",
              help="Import MODULE first (a module of yours that defines block classes).")
def check(ref: str, modules: tuple[str, ...]) -> None:
    """Load a block and run its connectivity check: REF is SLUG/NAME."""
    from headwater.blocks.core import Block

    _import_modules(modules)
    instance = Block.load(ref)
    try:
        instance.check()
    except NotImplementedError as exc:
        raise click.ClickException(str(exc)) from None
    except HeadwaterError:
        raise
    except Exception as exc:
        raise HeadwaterError(f"check of {ref} failed: {type(exc).__name__}: {exc}") from None
    click.echo(f"{ref}: OK")


@block.group("type")
def type_() -> None:
    """Block types provided by core and installed plugins."""


@type_.command("ls")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE", help="Also import MODULE's block classes.")
@output_option
def type_ls(modules: tuple[str, ...], output: str) -> None:
    """List block types and the distribution providing each."""
    _import_modules(modules)
    from headwater.cli._fields import secret_fields
    from headwater.plugins import block_type_registry

    rows = []
    for slug, info in sorted(block_type_registry().items()):
        cls: Any = info.cls
        rows.append({
            "slug": slug, "class": f"{cls.__module__}.{cls.__qualname__}", "provided_by": info.dist or "(user code)",
            "version": info.dist_version, "plugin": info.plugin, "fields": list(cls.model_fields),
            "secret_fields": list(secret_fields(cls)), "description": cls.get_description(),
        })
    emit(rows, ["slug", "provided_by", "version", "description"], output)


@type_.command("inspect")
@click.argument("slug")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE", help="Also import MODULE's block classes.")
@output_option
def type_inspect(slug: str, modules: tuple[str, ...], output: str) -> None:
    """Show a block type's fields: type, default, secret or not, and what each means."""
    _import_modules(modules)
    from headwater.cli._fields import describe_fields
    from headwater.plugins import block_type_registry

    cls: Any = _resolve_type(slug)
    info = block_type_registry()[slug]
    fields = describe_fields(cls)
    usage = ["headwater block create", slug, "NAME"]
    for f in fields:
        if not f["required"]:
            continue
        if f["secret"]:
            usage.append(f"--secret-env {f['field']}=VARIABLE")
        elif f["blocks"] and "str" not in f["type"].split(" | "):
            usage.append(f"--set {f['field']}={f['blocks'][0]}/NAME")
        else:
            usage.append(f"--set {f['field']}=...")
    header = {
        "slug": slug, "class": f"{cls.__module__}.{cls.__qualname__}",
        "provided_by": f"{info.dist} {info.dist_version}" if info.dist else "(user code)",
        "schema_version": cls._block_schema_version, "description": cls.get_description(),
        "create": " ".join(usage),
    }
    if output == "json":
        emit_object({**header, "fields": fields}, output)
        return
    emit_object(header, output)
    click.echo("\nfields:")
    for f in fields:
        facts = [f["type"], "required" if f["required"] else f"default {f['default']}"]
        if f["secret"]:
            facts.append("secret")
        click.echo(f"  {f['field']} ({', '.join(facts)})")
        notes = [f["description"]] if f["description"] else []
        if f["blocks"]:
            notes.append(f"A saved {' or '.join(f['blocks'])} block: --set {f['field']}={f['blocks'][0]}/NAME.")
        if f["nested_fields"]:
            notes.append(f"Nested fields ({', '.join(f['nested_fields'])}): --set {f['field']}.FIELD=VALUE.")
        for line in textwrap.wrap(" ".join(notes), width=92, break_on_hyphens=False):
            click.echo(f"      {line}")
