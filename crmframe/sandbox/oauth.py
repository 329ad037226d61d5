"""Zoho Accounts' refresh-token grant and access-token checks.

Token errors answer HTTP 200 with ``{"error": ...}`` like Zoho Accounts; API calls with
an unknown or expired token get 401 ``INVALID_TOKEN``, without one 401
``AUTHENTICATION_FAILURE``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from crmframe.sandbox.clock import Clock
from crmframe.sandbox.envelopes import ApiError

__all__ = ["Grant", "OAuth", "scope_allows"]

#: Tokens held before the first sweep of expired ones (see :meth:`OAuth.mint`).
_FIRST_SWEEP = 1024


@dataclass(frozen=True)
class Grant:
    """What an access token may do: its expiry, OAuth scopes (``None``: every scope, the
    sandbox's default) and the CRM profile of its user."""

    expires: float
    scopes: frozenset[str] | None = None
    profile: str = "Administrator"


def scope_allows(scopes: frozenset[str] | None, needed: tuple[str, str, str | None, str]) -> bool:
    """Whether granted ``scopes`` cover ``needed`` = (service, area, module or None, op).

    Zoho's scope grammar: ``ZohoCRM.modules.ALL``, ``ZohoCRM.modules.READ``,
    ``ZohoCRM.modules.leads.UPDATE``, ``ZohoCRM.settings.fields.READ``,
    ``ZohoCRM.coql.READ``, ``ZohoCRM.bulk.ALL``, ``ZohoFiles.files.ALL``...; ``ALL``
    covers every operation, a scope without a module every module.

    >>> scope_allows(frozenset({"ZohoCRM.modules.leads.READ"}),
    ...              ("ZohoCRM", "modules", "Leads", "READ"))
    True
    >>> scope_allows(frozenset({"ZohoCRM.modules.leads.READ"}),
    ...              ("ZohoCRM", "modules", "Leads", "UPDATE"))
    False
    """
    if scopes is None:
        return True
    service, area, sub, op = needed
    wanted = {f"{service}.{area}.{o}" for o in (op, "ALL")}
    if sub is not None:
        wanted |= {f"{service}.{area}.{sub.lower()}.{o}" for o in (op, "ALL")}
    folded = {s.lower() for s in scopes}
    return any(w.lower() in folded for w in wanted)


class OAuth:
    """Issues and checks access tokens for one client (id, secret, refresh token)."""

    def __init__(self, clock: Clock, ttl: float, seed: int | None = None) -> None:
        # Without a seed the credentials and tokens come from the system's randomness:
        # a sandbox left listening must not accept credentials anyone could derive. A seed
        # (tests that need to know them in advance) makes them repeat.
        rng: random.Random = (
            random.SystemRandom() if seed is None else random.Random(f"oauth-{seed}")
        )
        self.clock = clock
        self.ttl = float(ttl)
        self.client_id = "1000." + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                                            for _ in range(30))
        self.client_secret = f"{rng.getrandbits(160):040x}"
        self.refresh_token = f"1000.{rng.getrandbits(128):032x}.{rng.getrandbits(128):032x}"
        self._tokens: dict[str, Grant] = {}
        self._sweep_at = _FIRST_SWEEP
        self._lock = threading.Lock()
        self._rng: random.Random = (
            random.SystemRandom() if seed is None else random.Random(f"tokens-{seed}")
        )
        self.issued = 0

    def mint(self, ttl: float | None = None, *, scopes: frozenset[str] | None = None,
             profile: str = "Administrator") -> str:
        """A new access token valid for ``ttl`` seconds (default: the server's TTL),
        limited to ``scopes`` (``None``: all) for a user of ``profile``."""
        with self._lock:
            token = (f"1000.{self._rng.getrandbits(128):032x}."
                     f"{self._rng.getrandbits(128):032x}")
            now = self.clock.now()
            if len(self._tokens) >= self._sweep_at:
                # Expired tokens answer 401 whether kept or not: forget them, or a server
                # that clients connect to again and again would keep one entry per token
                # forever. Amortised: the next sweep waits until the live ones double.
                self._tokens = {t: g for t, g in self._tokens.items() if g.expires > now}
                self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._tokens))
            self._tokens[token] = Grant(now + (self.ttl if ttl is None else ttl), scopes,
                                        profile)
            self.issued += 1
            return token

    @property
    def kept(self) -> int:
        """Access tokens held (live ones, and expired ones not swept yet)."""
        with self._lock:
            return len(self._tokens)

    def grant(self, form: dict[str, str], api_domain: str) -> dict[str, Any]:
        """Answer ``POST /oauth/v2/token`` (always HTTP 200, like Zoho Accounts)."""
        grant_type = form.get("grant_type")
        if grant_type != "refresh_token":
            return {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id:
            return {"error": "invalid_client"}
        if form.get("client_secret") != self.client_secret:
            return {"error": "invalid_client_secret"}
        if form.get("refresh_token") != self.refresh_token:
            return {"error": "invalid_code"}
        return {
            "access_token": self.mint(),
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": int(self.ttl),
        }

    def check(self, authorization: str | None) -> float:
        """Raise the 401 Zoho answers unless ``authorization`` carries a live token.

        Returns the token's expiry (epoch seconds), for ``X-ACCESSTOKEN-RESET``.
        """
        return self.grant_of(authorization).expires

    def grant_of(self, authorization: str | None) -> Grant:
        """The :class:`Grant` of a live token, or the 401 Zoho answers."""
        if not authorization or not authorization.strip():
            raise ApiError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() not in ("zoho-oauthtoken", "bearer") or not token.strip():
            raise ApiError(401, "INVALID_TOKEN", "invalid oauth token")
        with self._lock:
            grant = self._tokens.get(token.strip())
        if grant is None or grant.expires <= self.clock.now():
            raise ApiError(401, "INVALID_TOKEN", "invalid oauth token")
        return grant

    def revoke_all(self) -> None:
        """Forget every access token (clients must refresh)."""
        with self._lock:
            self._tokens.clear()
