"""The relay client speaks STARTTLS and logs in, and a wrong password is a RelayError."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from discflow.mail import RelayConfig, RelayError, probe_message, send_message
from tests.mail.conftest import _Catcher
from tests.utils.processes import free_port


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "relay.pem", folder / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (
        auth_data.login,
        auth_data.password,
    ) == (b"discflow", b"s3cret")
    return AuthResult(success=good)


def test_starttls_and_login_through_a_private_ca(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    catcher = _Catcher()
    port = free_port()
    controller = Controller(
        catcher,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )
    controller.start()
    try:
        relay = RelayConfig(
            host="127.0.0.1", port=port, username="discflow", password="s3cret",
            starttls=True, ca_file=str(cert),
        )  # fmt: skip
        message = probe_message(sender="discflow@discs.example.org", to="ops@example.org")
        asyncio.run(send_message(relay, message))
        assert [m["Subject"] for m in catcher.messages] == ["discflow test mail"]

        wrong = RelayConfig(
            host="127.0.0.1", port=port, username="discflow", password="nope",
            starttls=True, ca_file=str(cert), timeout_s=2.0,
        )  # fmt: skip
        with pytest.raises(RelayError, match="did not take the mail"):
            asyncio.run(send_message(wrong, message))
        untrusted = RelayConfig(host="127.0.0.1", port=port, starttls=True)
        with pytest.raises(RelayError):  # a self-signed certificate is not trusted by default
            asyncio.run(send_message(untrusted, message))
        assert len(catcher.messages) == 1
    finally:
        controller.stop()
