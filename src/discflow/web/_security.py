"""The server's edge: who the client is, the security headers, the sign-in throttle, /metrics.

Invariants:
- ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed only from a peer in
  ``DISCFLOW_TRUSTED_PROXIES``; the client is then the right-most address of
  the chain that is not itself a trusted proxy (what the client itself wrote on
  the left is never taken). From anyone else the headers are ignored, so a
  client cannot pick its own address to escape the throttle. (``discflow
  serve`` turns uvicorn's own handling off: this is the one place.)
- Every HTTP answer carries ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``; pages also carry
  a ``Content-Security-Policy`` without 'unsafe-inline' (the templates load
  their scripts and styles from ``/static``) and ``frame-ancestors 'none'``.
- Failed sign-ins count per account (from any client) and per client (for any
  account names), in the database, so the limit holds across workers. A
  successful sign-in clears its account's count only: a sprayer cannot reset
  its client's count by signing in to an account of its own.
- ``/metrics`` answers an operator's bearer token, or anyone when
  ``DISCFLOW_METRICS_PUBLIC`` is set.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from discflow import store
from discflow.errors import InvalidInput
from discflow.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# Swagger UI and ReDoc pages are FastAPI's, with inline scripts: no CSP, still not frameable
_NO_POLICY = ("/docs", "/redoc")
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def parse_networks(text: str) -> tuple[Network, ...]:
    """``DISCFLOW_TRUSTED_PROXIES``: addresses or CIDRs, comma- or space-separated."""
    out: list[Network] = []
    for part in text.replace(",", " ").split():
        try:
            out.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise InvalidInput(
                f"DISCFLOW_TRUSTED_PROXIES entry {part!r} is not an IP address or network"
                " such as 127.0.0.1 or 10.0.0.0/8"
            ) from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # ::ffff:127.0.0.1 is 127.0.0.1: a proxy list of v4 addresses must match it
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(text: str, networks: Iterable[Network]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


def forwarded_client(peer: str, chain: str, networks: tuple[Network, ...]) -> str:
    """The client behind ``peer``: from ``X-Forwarded-For`` only when ``peer`` is trusted."""
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in chain.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            address = _address(hop)
            return str(address) if address is not None else peer
    return peer


class EdgeMiddleware:
    """Client address from trusted proxies only, and the security headers on every answer."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: str) -> None:
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._believe_proxy(scope)
        policy = not scope["path"].startswith(_NO_POLICY)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in _ALWAYS if pair[0] not in present]
                content_type = dict(headers).get(b"content-type", b"")
                if policy and content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _believe_proxy(self, scope: Scope) -> None:
        client = scope.get("client")
        if not self.networks or not client:
            return
        peer = str(client[0])
        if not _trusted(peer, self.networks):
            return
        # several X-Forwarded-For lines count as one list, in order (RFC 9110 5.3)
        lines = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
        chain = ",".join(value.decode("latin-1") for value in lines)
        scope["client"] = (forwarded_client(peer, chain, self.networks), client[1])
        proto = next((v for n, v in scope["headers"] if n == b"x-forwarded-proto"), None)
        if proto is not None and proto.strip().lower() in (b"http", b"https"):
            scope["scheme"] = proto.strip().lower().decode()


def client_key(client: str) -> str:
    """What one client is to the throttle: its IPv4 address, or its IPv6 /64 (one host
    commonly holds a whole /64 and could take a new address per attempt)."""
    address = _address(client)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address) if address is not None else client


@dataclass(frozen=True, slots=True)
class SignInThrottle:
    """How many failed sign-ins an account and a client may have in a window."""

    per_account: int = 5
    per_client: int = 10
    window_s: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInThrottle:
        return cls(
            per_account=settings.signin_failures_per_account,
            per_client=settings.signin_failures_per_client,
            window_s=settings.signin_window_s,
        )

    @staticmethod
    def keys(name: str, client: str) -> tuple[str, str]:
        # casefold: 'Alice' and 'ALICE' are one account to the throttle
        return f"account:{name.strip().casefold()}", f"client:{client_key(client)}"

    def _since(self) -> datetime:
        return store.utcnow() - timedelta(seconds=self.window_s)

    def retry_after(self, session: Session, name: str, client: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        account, peer = self.keys(name, client)
        since = self._since()
        counts = store.signin_failures(session, (account, peer), since=since)
        waits = [0.0]
        for key, limit in ((account, self.per_account), (peer, self.per_client)):
            if counts.get(key, 0) >= limit:
                oldest = store.oldest_signin_failure(session, key, since=since)
                if oldest is not None:
                    waits.append((oldest - since).total_seconds())
        return max(waits)

    def failed(self, session: Session, name: str, client: str) -> None:
        store.record_signin_failure(session, self.keys(name, client), window_start=self._since())

    def succeeded(self, session: Session, name: str) -> None:
        store.forget_signin_failures(session, self.keys(name, "")[0])


def wait_message(name: str, wait_s: float) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    return (
        f"Too many failed sign-ins for {name} or from your address."
        f" Try again in {minutes} minute(s)."
    )


async def metrics_allowed(request: Request) -> None:
    """``/metrics``: public only when configured so, else an operator's bearer token."""
    settings: Settings = request.app.state.settings
    if settings.metrics_public:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "/metrics needs an operator's bearer token (or DISCFLOW_METRICS_PUBLIC=1 when "
            "only a scraper can reach this listener)",
            headers=challenge,
        )
    database: store.Database = request.app.state.database
    with database.transaction() as session:
        principal = store.principal_for_token(session, token.strip())
    if principal is None:
        raise HTTPException(401, "the bearer token is unknown or revoked", headers=challenge)
    if principal.role is None or not principal.role.at_least(store.Role.OPERATOR):
        raise HTTPException(403, f"/metrics needs the operator role; {principal.name} lacks it")


_ANSWERS = {
    "400": "the body could not be parsed (not JSON, a broken multipart form)",
    "401": "no bearer token, or an unknown or revoked one",
    "403": "the token's role may not do this, or the object belongs to someone else",
    "404": "no such object",
    "409": "not possible in the object's state now, or an Idempotency-Key in use",
    "413": "the body is larger than allowed (declared or sent chunked)",
    "429": "a quota is used up for now: see Retry-After",
}


def document_error_answers(spec: dict[str, Any]) -> None:
    """Add to each operation of ``spec`` the error answers its route can give, each as
    ``{"detail": ...}``: what a client (or schemathesis) must expect."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            codes = [] if path.endswith("/health") else ["401", "403"]
            if "{" in path:
                codes.append("404")
            if "requestBody" in operation:
                codes += ["400", "413"]
            if method in ("post", "put", "patch", "delete"):
                codes.append("409")
            if method == "post" and path.endswith("/orders"):
                codes.append("429")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": _ANSWERS[code], "content": error})
