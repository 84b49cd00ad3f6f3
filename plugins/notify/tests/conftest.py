"""Fixtures: an isolated Headwater home, an HTTP receiver and an SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from headwater.testing.receivers import HttpReceiver


@pytest.fixture(autouse=True)
def _isolated_home(headwater_home: Any) -> Any:
    return headwater_home


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as rx:
        yield rx


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with cryptography."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Mailbox:
    """What the SMTP server received, and the logins it accepted."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def _probe_tls(port: int) -> None:
    import socket

    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, client.wrap_socket(raw) as tls:
        tls.recv(1024)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["STARTTLS", "SSL"])
def smtp(request: pytest.FixtureRequest, tls_files: tuple[Path, Path]) -> Iterator[dict[str, Any]]:
    """An aiosmtpd server speaking STARTTLS (login required after TLS) or implicit SSL."""
    aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed: pip install aiosmtpd")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    mailbox = Mailbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"etl" and data.password == b"app-pw-123"
        if ok:
            mailbox.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    port = _free_port()
    kwargs: dict[str, Any] = dict(
        hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=True,
        auth_exclude_mechanism=["LOGIN"],  # after a refused PLAIN, smtplib's LOGIN try hangs on aiosmtpd
    )
    if request.param == "SSL":
        # aiosmtpd does not see implicit TLS as TLS for AUTH; the whole connection is TLS here.
        kwargs.update(ssl_context=context, auth_require_tls=False)
    else:
        kwargs.update(tls_context=context, require_starttls=True)
    controller = aiosmtpd.Controller(mailbox, **kwargs)
    if request.param == "SSL":
        # The controller's readiness probe wraps its socket with the server's own context, which
        # cannot act as a client: probe with a client context instead.
        controller._trigger_server = lambda: _probe_tls(port)  # noqa: SLF001
    controller.start()
    yield {"type": request.param, "port": port, "mailbox": mailbox}
    controller.stop()
