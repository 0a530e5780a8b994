"""A malicious submission or bundle must not be able to attack the coordinator who opens it."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from app.cli.main import main
from app.config import Config
from app.records.attachments import display_name
from app.store.store import Store
from app.web.factory import create_operator_app
from crypto import keys
from crypto.bundle import BundleEntry, seal_bundle
from crypto.device import DeviceKey
from tests.conftest import PASSPHRASE, csrf_token, report_form

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
def coordinator(tmp_path: Path) -> tuple[Path, keys.X25519Recipient]:
    data = tmp_path / "c"
    result = CliRunner().invoke(
        main, ["init", "--role", "coordinator", "--data", str(data)], input=PASSPHRASE + "\n"
    )
    assert result.exit_code == 0
    return data, keys.parse_recipient(result.stdout.strip().splitlines()[-1])


def _bundle(
    path: Path,
    recipient: keys.X25519Recipient,
    documents: dict[str, bytes],
    files: dict[str, bytes] | None = None,
) -> None:
    entries = [
        BundleEntry(name, len(raw), hashlib.sha256(raw).digest(), lambda r=raw: iter([r]))
        for name, raw in {**documents, **(files or {})}.items()
    ]
    with open(path, "wb") as fh:
        seal_bundle(
            fh,
            [recipient],
            DeviceKey.generate(),
            1,
            entries,
            {"kind": "kuager-field-export", "store": "real"},
        )


def _document(title: str, attachments: list[dict] | None = None) -> bytes:
    report = {
        "id": "a" * 32,
        "revision": 1,
        "origin": "operator",
        "created_at": "2026-01-12T00:00:00Z",
        "updated_at": "2026-01-12T00:00:00Z",
        "body": {
            "title": title,
            "description": HOSTILE,
            "occurred_on": "2026-01-12",
            "region": "astana",
            "rights": [],
            "acts": [],
            "victims": [],
            "perpetrators": [],
            "legal": [],
            "links": "javascript:alert(3)",
        },
    }
    return json.dumps({"report": report, "attachments": attachments or [], "custody": []}).encode()


def _review_client(data: Path) -> FlaskClient:
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    return create_operator_app(store.config, store, {"TESTING": True}).test_client()


def test_markup_in_an_imported_report_is_inert(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    name = "../../../etc/<b>passwd</b>.html"
    content = b"<html><script>alert(4)</script></html>"
    item = {
        "id": "b" * 32,
        "name": name,
        "media_type": "text/html",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "original_size": len(content),
        "original_sha256": hashlib.sha256(content).hexdigest(),
        "metadata_removed": False,
        "entry": "att-" + "b" * 32,
    }
    bundle = tmp_path / "hostile.age"
    _bundle(
        bundle,
        recipient,
        {"report-" + "a" * 32 + ".json": _document(HOSTILE, [item])},
        {"att-" + "b" * 32: content},
    )
    result = CliRunner().invoke(
        main, ["import", str(bundle), "--data", str(data)], input=PASSPHRASE + "\n"
    )
    assert result.exit_code == 0, result.output
    client = _review_client(data)
    listing = client.get("/reports").get_data(as_text=True)
    page = client.get("/reports/" + "a" * 32).get_data(as_text=True)
    for html in (listing, page):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in page
    download = page.split('href="/reports/' + "a" * 32 + "/attachments/", 1)[1].split('"', 1)[0]
    path = f"/reports/{'a' * 32}/attachments/{download}"
    warning = client.get(path)  # an active file (text/html): a warning page first
    assert warning.mimetype == "text/html" and "<script>alert" not in warning.get_data(True)
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    # The stored name cannot climb out of anywhere, and the file on disk has a random name.
    assert "/" not in display_name(name)
    assert all(len(p.name) == 32 for p in (data / "files").iterdir())


def test_oversized_report_entry_is_refused(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    bundle = tmp_path / "big.age"
    from app.exchange.staging import MAX_REPORT_ENTRY

    padding = b" " * (MAX_REPORT_ENTRY + 1)
    _bundle(bundle, recipient, {"report-" + "a" * 32 + ".json": _document("x") + padding})
    result = CliRunner().invoke(
        main, ["import", str(bundle), "--data", str(data)], input=PASSPHRASE + "\n"
    )
    assert result.exit_code == 1 and "implausibly large" in result.stderr


def test_attachment_listed_but_missing_is_refused(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    item = {
        "id": "c" * 32,
        "name": "x",
        "media_type": "x",
        "size": 1,
        "sha256": "0" * 64,
        "original_size": 1,
        "original_sha256": "0" * 64,
        "metadata_removed": False,
        "entry": "att-" + "c" * 32,
    }
    bundle = tmp_path / "missing.age"
    _bundle(bundle, recipient, {"report-" + "a" * 32 + ".json": _document("x", [item])})
    before = (data / "kuager.db").read_bytes()
    result = CliRunner().invoke(
        main, ["import", str(bundle), "--data", str(data)], input=PASSPHRASE + "\n"
    )
    assert result.exit_code == 1 and "missing from the bundle" in result.stderr
    assert (data / "kuager.db").read_bytes() == before


def test_decompression_bomb_is_stored_unchanged_not_decoded(
    client: FlaskClient, field_store: Store
) -> None:
    from PIL import Image

    image = Image.new("L", (12_000, 12_000))  # 144 Mpixel: over Pillow's bomb limit x1.5
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = report_form(attachments=[(io.BytesIO(out.getvalue()), "bomb.png")])
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "metadata kept" in page


def test_passphrases_are_never_logged(
    client: FlaskClient, field_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    field_store.lock()
    token = csrf_token(client, "/unlock")
    client.post("/unlock", data={"csrf_token": token, "passphrase": "guess-MARKER-passphrase"})
    client.post("/unlock", data={"csrf_token": token, "passphrase": PASSPHRASE})
    for record in caplog.records:
        message = record.getMessage()
        assert "MARKER" not in message and PASSPHRASE not in message


@pytest.mark.parametrize("side", ["operator", "public"])
def test_too_many_file_parts_are_refused_before_parsing_on(config: Config, field_store: Store,
                                                            side: str) -> None:
    from app.web.factory import create_public_app

    factory = create_public_app if side == "public" else create_operator_app
    client = factory(config, field_store, {"TESTING": True}).test_client()
    limit = client.application.config["KUAGER_MAX_FILES"]
    files = [(io.BytesIO(b"x"), f"{n}.txt") for n in range(limit + 1)]
    response = client.post("/" if side == "public" else "/reports/new",
                           data={"attachments": files}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert list(field_store.config.spool_dir.iterdir()) == []


def test_public_site_decodes_only_moderate_images(public_client: FlaskClient,
                                                  field_store: Store) -> None:
    """A 100 KB PNG claiming 49 Mpixel is kept as sent on the public side, not decoded."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (7000, 7000)).save(out, format="PNG", optimize=True)
    assert len(out.getvalue()) < 200_000
    data = report_form(attachments=[(io.BytesIO(out.getvalue()), "big.png")])
    data["csrf_token"] = csrf_token(public_client, "/")
    data["save"] = "1"
    assert public_client.post("/", data=data, content_type="multipart/form-data").status_code == 303
    conn = field_store.connect()
    row = conn.execute("SELECT metadata_removed, size FROM attachments").fetchone()
    conn.close()
    assert row["metadata_removed"] == 0 and row["size"] == len(out.getvalue())


# -- review findings: hostile devices and bundles ---------------------------------------------

def _document_dict(report_id: str = "a" * 32, **body: object) -> dict:
    return json.loads(_document(str(body.get("title", "x"))).decode().replace("a" * 32, report_id))


def _import(data: Path, bundle: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["import", str(bundle), "--data", str(data)],
                              input=PASSPHRASE + "\n")


def test_another_device_cannot_revise_a_report(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    first = tmp_path / "a.age"
    _bundle(first, recipient, {"report-" + "a" * 32 + ".json": _document("Victim detained")})
    assert _import(data, first).exit_code == 0
    forged = tmp_path / "b.age"
    _bundle(forged, recipient, {"report-" + "a" * 32 + ".json": _document("NOTHING HAPPENED")})
    result = _import(data, forged)
    assert result.exit_code == 1 and "belongs to another device" in result.stderr
    client = _review_client(data)
    assert "Victim detained" in client.get("/reports/" + "a" * 32).get_data(as_text=True)


@pytest.mark.parametrize("mutate", [
    lambda d: "not json at all",
    lambda d: [d],
    lambda d: {k: v for k, v in d.items() if k != "report"},
    lambda d: d | {"report": d["report"] | {"body": "a string"}},
    lambda d: d | {"report": d["report"] | {"id": ["list"]}},
    lambda d: d | {"report": d["report"] | {"id": "../../x"}},
    lambda d: d | {"report": d["report"] | {"created_at": 5}},
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"] | {"title": {"x": 1}}}},
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"] | {"evil": "x"}}},
    lambda d: d | {"attachments": [{"name": 5}]},
    lambda d: d | {"custody": [{"event": None}]},
    # A boolean where a table expects text broke every table and the briefing (review F3).
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"]
                                             | {"legal": [{"code": True}]}}},
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"]
                                             | {"victims": [{"name": "x", "consent": "yes"}]}}},
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"]
                                             | {"perpetrators": [{"kind": 5}]}}},
    # The statistics join codes with U+001E and U+001F: a role holding one broke counts.
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"]
                                             | {"victims": [{"name": "x", "role": "a\x1eb"}]}}},
    lambda d: d | {"report": d["report"] | {"body": d["report"]["body"]
                                             | {"perpetrators": [{"kind": "p\x1fq"}]}}},
], ids=["not-json", "list", "no-report", "body-string", "id-list", "id-path", "date-int",
        "title-dict", "unknown-field", "attachment-name-int", "custody-null", "legal-code-bool",
        "consent-string", "perpetrator-int", "role-control", "kind-control"])
def test_malformed_documents_are_refused_cleanly(coordinator, tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    mutated = mutate(_document_dict())
    raw = mutated.encode() if isinstance(mutated, str) else json.dumps(mutated).encode()
    bundle = tmp_path / "bad.age"
    _bundle(bundle, recipient, {"report-" + "a" * 32 + ".json": raw})
    before = (data / "kuager.db").read_bytes()
    result = _import(data, bundle)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {bundle}:") and "Traceback" not in result.output
    assert (data / "kuager.db").read_bytes() == before


def test_attachment_not_matching_its_record_is_refused(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    content = b"real bytes"
    item = {"id": "b" * 32, "name": "x", "media_type": "text/plain", "size": len(content),
            "sha256": "0" * 64, "original_size": len(content), "original_sha256": "0" * 64,
            "metadata_removed": False, "entry": "att-" + "b" * 32}
    bundle = tmp_path / "lie.age"
    _bundle(bundle, recipient, {"report-" + "a" * 32 + ".json": _document("x", [item])},
            {"att-" + "b" * 32: content})
    result = _import(data, bundle)
    assert result.exit_code == 1 and "does not match" in result.stderr


def test_implausible_sequence_is_refused(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, recipient = coordinator
    raw = _document("x")
    entry = BundleEntry("report-" + "a" * 32 + ".json", len(raw), hashlib.sha256(raw).digest(),
                        lambda: iter([raw]))
    bundle = tmp_path / "far.age"
    with open(bundle, "wb") as fh:
        seal_bundle(fh, [recipient], DeviceKey.generate(), 5_000_000, [entry],
                    {"kind": "kuager-field-export", "store": "real"})
    result = _import(data, bundle)
    assert result.exit_code == 1 and "implausibly far ahead" in result.stderr


def test_envelope_with_a_negative_size_is_refused_not_hung(coordinator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import signal

    from app.exchange.inbox import MAGIC
    from crypto import age

    data, recipient = coordinator
    document = json.loads(_document("x"))
    document["report"]["origin"] = "public"
    document["attachments"] = [{"name": "x", "media_type": "x", "size": -5,
                                "sha256": "0" * 64, "original_size": 0,
                                "original_sha256": "0" * 64, "metadata_removed": False}]
    head = json.dumps({"report": document["report"], "attachments": document["attachments"]}).encode()
    envelope = age.encrypt_bytes(MAGIC + str(len(head)).encode() + b"\n" + head + b"x" * 100,
                                 [recipient])
    bundle = tmp_path / "envelope.age"
    _bundle(bundle, recipient, {}, {"inbox-" + "c" * 32 + ".age": envelope})

    def hung(*_args: object) -> None:
        raise TimeoutError("import of a hostile envelope did not finish")

    signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        result = _import(data, bundle)
    finally:
        signal.alarm(0)
    assert result.exit_code == 1 and "malformed" in result.stderr


def test_two_devices_exporting_to_one_folder_never_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    key = runner.invoke(main, ["init", "--role", "coordinator", "--data", str(tmp_path / "c")],
                        input=PASSPHRASE + "\n").stdout.strip().splitlines()[-1]
    usb = tmp_path / "usb" / "bundle.age"
    for name in ("f1", "f2"):
        for args in (["init", "--role", "field"], ["recipients", "add", key]):
            assert runner.invoke(main, [*args, "--data", str(tmp_path / name)],
                                 input=PASSPHRASE + "\n").exit_code == 0
        from tests.test_exchange import write_report

        write_report(tmp_path / name, name, [])  # an export with nothing to seal writes nothing
    first = runner.invoke(main, ["export", "--out", str(usb), "--purge", "--data", str(tmp_path / "f1")],
                          input=PASSPHRASE + "\n")
    assert first.exit_code == 0
    content = usb.read_bytes()
    second = runner.invoke(main, ["export", "--out", str(usb), "--purge", "--data", str(tmp_path / "f2")],
                           input=PASSPHRASE + "\n")
    assert second.exit_code == 1 and "already exists" in second.stderr
    assert usb.read_bytes() == content and sorted(p.name for p in usb.parent.iterdir()) == ["bundle.age"]


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/%0d%0aSet-Cookie:x=1",
                                    "javascript:alert(1)"])
def test_unlock_next_never_leaves_the_site(client: FlaskClient, field_store: Store,
                                           target: str) -> None:
    field_store.lock()
    token = csrf_token(client, "/unlock")
    response = client.post(f"/unlock?next={target}", data={"csrf_token": token,
                                                          "passphrase": PASSPHRASE})
    assert response.status_code == 303 and response.headers["Location"] == "/"
