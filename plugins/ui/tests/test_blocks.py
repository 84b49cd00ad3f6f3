"""Blocks in the UI: listing, inspecting, the form generated from the schema, write-only secrets."""

from __future__ import annotations

import re

import uiflows
from headwater import Secret


def _csrf(client) -> str:
    client.get("/blocks")
    return client.cookies["hw_ui_csrf"]


def test_form_fields_follow_the_schema(client):
    html = client.get("/blocks/new?type=ui-warehouse").text
    assert re.search(r'<input name="url" value="" required>', html)
    assert re.search(r'<input type="number"\s+name="port" value="5432"\s*>', html)
    assert re.search(r'<input type="password" name="password" value="" autocomplete="new-password"\s+required', html)
    assert '<textarea name="extra"' in html  # a SecretDict: JSON, write-only
    types = {t["slug"]: t for t in client.get("/api/block-types").json()["block_types"]}
    fields = {f["name"]: f for f in types["ui-warehouse"]["fields"]}
    assert fields["password"]["secret"] and fields["extra"]["secret"] and not fields["url"]["secret"]
    assert fields["port"]["kind"] == "integer"
    assert {"secret", "local-file-system", "ui-warehouse"} <= set(types)


def test_create_through_the_form_then_load_from_python(client):
    csrf = _csrf(client)
    r = client.post(
        "/blocks/new?type=ui-warehouse",
        data={
            "csrf_token": csrf,
            "_name": "prod",
            "url": "postgresql://db:5432/x",
            "port": "6543",
            "password": "s3cret-from-the-form",
            "extra": '{"sslkey": "key-material-xyz"}',
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/blocks/ui-warehouse/prod"
    block = uiflows.Warehouse.load("prod")
    assert block.url == "postgresql://db:5432/x" and block.port == 6543
    assert block.password.get_secret_value() == "s3cret-from-the-form"
    assert block.extra.get_secret_value() == {"sslkey": "key-material-xyz"}
    page = client.get("/blocks/ui-warehouse/prod").text
    assert "postgresql://db:5432/x" in page and "**********" in page
    listing = client.get("/api/blocks?type=ui-warehouse").json()["blocks"]
    assert [(b["ref"], b["secret_fields"]) for b in listing] == [("ui-warehouse/prod", ["extra", "password"])]


def test_edit_keeps_a_blank_secret_and_replaces_a_typed_one(client):
    uiflows.Warehouse(url="db://one", password="first-password").save("wh")
    csrf = _csrf(client)
    form = client.get("/blocks/ui-warehouse/wh/edit").text
    assert "first-password" not in form and 'placeholder="stored: leave blank to keep it"' in form
    assert 'value="db://one"' in form
    r = client.post(
        "/blocks/ui-warehouse/wh/edit",
        data={"csrf_token": csrf, "url": "db://two", "port": "1", "password": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    block = uiflows.Warehouse.load("wh")
    assert (block.url, block.port, block.password.get_secret_value()) == ("db://two", 1, "first-password")
    client.post("/blocks/ui-warehouse/wh/edit", data={"csrf_token": csrf, "url": "db://two", "password": "second-one"})
    assert uiflows.Warehouse.load("wh").password.get_secret_value() == "second-one"


def test_invalid_input_is_shown_on_the_form_without_the_secret(client):
    csrf = _csrf(client)
    r = client.post(
        "/blocks/new?type=ui-warehouse",
        data={
            "csrf_token": csrf,
            "_name": "bad",
            "url": "db://x",
            "port": "many",
            "password": "never-echo-this",
        },
    )
    assert r.status_code == 400
    assert "port: &#39;many&#39; is not a whole number" in r.text and "never-echo-this" not in r.text
    assert 'value="db://x"' in r.text  # what was typed is kept, except the secret
    r = client.post("/blocks/new?type=ui-warehouse", data={"csrf_token": csrf, "_name": "bad", "url": "db://x"})
    assert r.status_code == 400 and "password" in r.text
    r = client.post(
        "/blocks/new?type=ui-warehouse", data={"csrf_token": csrf, "_name": "a b", "url": "x", "password": "p" * 8}
    )
    assert r.status_code == 400 and "a b" in r.text and "p" * 8 not in r.text
    assert client.get("/api/blocks").json()["blocks"] == []  # nothing half-written


def test_creating_an_existing_name_is_refused(client):
    Secret(value="old-value-1234").save("api")
    csrf = _csrf(client)
    r = client.post("/blocks/new?type=secret", data={"csrf_token": csrf, "_name": "api", "value": "new-value-1234"})
    assert r.status_code == 400 and "already exists" in r.text
    assert Secret.load("api").get() == "old-value-1234"


def test_blocks_list_by_type_and_unknown_block(client):
    Secret(value="x" * 10).save("one")
    uiflows.Warehouse(url="db://x", password="p" * 10).save("wh")
    html = client.get("/blocks").text
    assert "<h2>secret</h2>" in html and "<h2>ui-warehouse</h2>" in html
    only = client.get("/blocks?type=secret").text
    assert "/blocks/secret/one" in only and "/blocks/ui-warehouse/wh" not in only
    r = client.get("/api/blocks/secret/nope")
    assert r.status_code == 404 and "no block named 'secret/nope'" in r.json()["error"]
    assert client.get("/blocks/new?type=nope").status_code == 404


def test_a_field_holding_a_block_is_a_choice_of_saved_blocks(client):
    uiflows.Warehouse(url="db://w", password="nested-secret-1").save("wh")
    html = client.get("/blocks/new?type=ui-nightly").text
    assert re.search(
        r'<select name="target"><option value="">\(none\)</option>\s*<option\s*>ui-warehouse/wh</option>', html
    )
    assert re.search(
        r'<select name="mode">.*<option selected>append</option>\s*<option\s*>replace</option>', html, re.S
    )
    csrf = _csrf(client)
    r = client.post(
        "/blocks/new?type=ui-nightly",
        data={
            "csrf_token": csrf,
            "_name": "job",
            "target": "ui-warehouse/wh",
            "tables": '["orders", "users"]',
            "mode": "replace",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-400:]
    job = uiflows.Nightly.load("job")
    assert job.target.password.get_secret_value() == "nested-secret-1" and job.tables == ["orders", "users"]
    assert job.mode == "replace"
    shown = client.get("/api/blocks/ui-nightly/job").json()["fields"]
    assert shown["target"] == "-> ui-warehouse/wh" and shown["tables"] == ["orders", "users"]
    edit = client.get("/blocks/ui-nightly/job/edit").text
    assert re.search(r"<option selected>ui-warehouse/wh</option>", edit) and "nested-secret-1" not in edit
