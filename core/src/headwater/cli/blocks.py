"""``headwater block ...``: create, list, inspect, check and delete saved blocks."""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any

import click

from headwater.cli._output import emit, emit_object, format_time, iso_time, output_option
from headwater.errors import HeadwaterError, UnknownBlockTypeError

__all__ = ["block"]


@click.group()
def block() -> None:
    """Create, list, inspect, check and delete saved blocks."""


def _complete_refs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Saved blocks as SLUG/NAME, and as NAME where that name is unique."""
    from click.shell_completion import CompletionItem

    try:
        from headwater.store.documents import list_documents

        docs = list_documents()
    except Exception:  # completion must never print an error into the user's shell
        return []
    names = [d.name for d in docs]
    words = [d.ref for d in docs] + [n for n in names if names.count(n) == 1]
    return [CompletionItem(w) for w in sorted(set(words)) if w.startswith(incomplete)]


@block.command("ls")
@click.option("--type", "slug", help="Only blocks of this type (slug).")
@output_option
def ls(slug: str | None, output: str) -> None:
    """List saved blocks."""
    from headwater.store.documents import list_documents

    missing: dict[str | None, bool] = {}
    rows = []
    for d in list_documents(slug):
        if d.dist not in missing:
            missing[d.dist] = _missing_dist(d.dist)
        problem = f"{d.dist} is not installed: pip install {d.dist}" if missing[d.dist] else None
        if output == "json":
            rows.append({"ref": d.ref, "type": d.slug, "name": d.name, "provided_by": d.dist or d.module,
                         "version": d.dist_version, "secret_fields": d.secret_fields, "updated": iso_time(d.updated),
                         "id": d.id, "problem": problem})
        else:
            rows.append({"ref": d.ref, "provided_by": d.dist or d.module, "updated": format_time(d.updated),
                         "note": problem or ""})
    columns = ["ref", "provided_by", "updated"] + (["note"] if any(missing.values()) else [])
    emit(rows, columns, output, empty="no blocks saved yet: headwater block create SLUG NAME --set field=value")


@block.command("inspect")
@click.argument("ref", shell_complete=_complete_refs)
@output_option
def inspect_(ref: str, output: str) -> None:
    """Show a saved block (secrets masked): REF is SLUG/NAME or an unambiguous NAME."""
    from headwater.blocks.codec import display
    from headwater.store.documents import read_document

    doc = read_document(ref)
    if not doc.intact:
        click.echo(f"warning: block '{doc.ref}' is corrupted in the store (checksum mismatch: it was changed outside "
                   f"Headwater), so loading it fails: "
                   f"re-create it with `headwater block create ... --overwrite`", err=True)
    emit_object(
        {
            "ref": doc.ref, "id": doc.id, "type": doc.slug, "class": f"{doc.module}.{doc.class_name}",
            **({"provided_by": doc.dist, "version": doc.dist_version} if output == "json" else
               {"provided_by": f"{doc.dist} {doc.dist_version}" if doc.dist else "(user code)"}),
            "schema_version": doc.schema_version, "schema_checksum": doc.schema_checksum, "checksum": doc.checksum,
            "checksum_ok": doc.intact, "secrets_backend": doc.secrets_backend, "secret_fields": doc.secret_fields,
            "created": (iso_time if output == "json" else format_time)(doc.created),
            "updated": (iso_time if output == "json" else format_time)(doc.updated),
            "fields": display(doc.data),
        },
        output,
    )


def _same_name(name: str) -> list[Any]:
    from headwater.store.documents import list_documents

    return [d for d in list_documents() if d.name == name]


# Block types of Headwater's own connector distributions, so that a type whose plugin is not
# installed gets the same `pip install` hint as loading a saved block of it.
FIRST_PARTY_TYPES = {
    **dict.fromkeys(["aws-credentials", "aws-secret", "minio-credentials", "s3-bucket"], "headwater-aws"),
    **dict.fromkeys(["gcp-credentials", "gcs-bucket"], "headwater-gcs"),
    **dict.fromkeys(["async-sqlalchemy-connector", "database-credentials", "sqlalchemy-connector"], "headwater-sql"),
    **dict.fromkeys(["dbt-cli-duckdb-target-configs", "dbt-cli-global-configs", "dbt-cli-postgres-target-configs",
                     "dbt-cli-profile", "dbt-cli-target-configs", "dbt-core-operation"], "headwater-dbt"),
    "dask-cluster": "headwater-dask",
    **dict.fromkeys(["custom-webhook", "discord-webhook", "email-server-credentials", "microsoft-teams-webhook",
                     "slack-webhook"], "headwater-notify"),
}


def _providing_dist(slug: str) -> str | None:
    """The distribution known to provide ``slug``: a saved block of that type says, or the table above."""
    from headwater.store.documents import list_documents

    dists = [d.dist for d in list_documents(slug) if d.dist and d.dist != "headwater"]
    return dists[0] if dists else FIRST_PARTY_TYPES.get(slug)


def _missing_dist(dist: str | None) -> bool:
    from importlib.metadata import PackageNotFoundError, distribution

    if not dist or dist == "headwater":
        return False
    try:
        distribution(dist)
    except PackageNotFoundError:
        return True
    return False


def _resolve_type(slug: str) -> type:
    from headwater.plugins import block_type_registry

    info = block_type_registry().get(slug)
    if info is None:
        dist = _providing_dist(slug)
        if dist is not None:  # the same message as loading a saved block of that type
            from types import SimpleNamespace

            from headwater.blocks.persistence import resolve_block_class

            resolve_block_class(slug, row=SimpleNamespace(dist=dist, module=None))
        known = ", ".join(sorted(block_type_registry())) or "none"
        raise UnknownBlockTypeError(
            f"unknown block type {slug!r}: known types are {known} (plugins add more: headwater plugin ls)"
        )
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
        raise click.UsageError(
            f"{what} is not UTF-8 text: give the secret as UTF-8 (for binary data, base64-encode it)"
        ) from None


def _read_secret(field: str, sources: dict[str, str], stdin_field: str | None, required: bool,
                 optional_prompt: bool = False) -> str | None:
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
    if optional_prompt and sys.stdin.isatty():
        return click.prompt(f"{field} (hidden, optional: Enter skips)", hide_input=True, default="",
                            show_default=False) or None
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
@click.option("--overwrite", is_flag=True, help="Replace an existing block of that type and name.")
@click.option("--replace", is_flag=True,
              help="Replace whatever block has that name, of any type, in one step "
                   "(e.g. re-point raw from a folder to a bucket).")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE",
              help="Import MODULE first (a module of yours that defines block classes).")
@output_option
def create(slug: str, name: str, assignments: tuple[str, ...], secret_env: tuple[str, ...], secret_stdin: str | None,
           overwrite: bool, replace: bool, modules: tuple[str, ...], output: str) -> None:
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
        click.echo(f"warning: {field} was given on the command line, where shell history can see it; prefer "
                   "--secret-env", err=True)
    nested = []  # nested secrets are set like --set a.b=..., without ever being on the command line
    for field in [f for f in every_secret if "." in f and f not in on_command_line]:
        value = _read_secret(field, sources, secret_stdin, False)
        if value is not None:
            nested.append(f"{field}={value}")
    values = parse_assignments(cls, [*assignments, *nested])
    for field, required in secrets.items():
        if field in on_command_line:
            continue
        value = _read_secret(field, sources, secret_stdin, required, optional_prompt=not required)
        if value is not None:
            values[field] = value
    instance = cls(**values)
    doc_id = instance.save(name, overwrite=overwrite, replace=replace)
    if output == "json":
        emit_object({"ref": f"{slug}/{name}", "id": doc_id}, output)
    else:
        click.echo(f"saved {slug}/{name}")
    others = sorted(d.ref for d in _same_name(name) if d.slug != slug)
    if others:
        click.echo(f"warning: {', '.join(others)} has the same name, so a bare {name!r} is ambiguous: load it as "
                   f"{slug}/{name}, or re-run with --replace to keep only this one", err=True)


@block.command("delete")
@click.argument("ref", shell_complete=_complete_refs)
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
@click.argument("ref", shell_complete=_complete_refs)
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
        **({"provided_by": info.dist, "version": info.dist_version} if output == "json" else
           {"provided_by": f"{info.dist} {info.dist_version}" if info.dist else "(user code)"}),
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
