"""Signed session cookies, shared by the tenant portal and the support console.

A session is a set of claims signed with ``app.portal_access.signer.Signer`` (purpose
per cookie, so a portal cookie is never a console cookie) and carried in an HttpOnly
cookie scoped to its UI's path. Cookie attributes follow where Herald is served and
whether the UI is ever framed (``CookieSpec.framed``):

- ``HERALD_PUBLIC_URL`` on https: ``Secure``; ``SameSite=None`` for the tenant portal, so
  the cookie survives the cross-site iframe a producer embeds it in, and ``SameSite=Lax``
  for the console, which is never framed and so never needs its cookie cross-site;
- plain http (``herald dev`` on localhost): ``SameSite=Lax`` without ``Secure``, since
  browsers drop ``SameSite=None`` cookies that are not ``Secure``.

Usage (the console does the same with its own ``CookieSpec``)::

    cookies = SessionCookies(settings, PORTAL_COOKIE)
    response.set_cookie(cookies.issue({"sid": ..., ...}, expires_at))
    claims = cookies.read(request)          # None when absent, tampered or expired
    response.set_cookie(cookies.clear())
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from litestar import Request
from litestar.datastructures import Cookie

from app.config import Settings
from app.db.base import utcnow
from app.portal_access.signer import BadSignature, Claims, require_secret_key, signer_for


@dataclass(frozen=True)
class CookieSpec:
    """Which cookie: its name, the path it is scoped to, the signing purpose, and whether
    its UI is embedded in another site's iframe."""

    name: str
    path: str
    purpose: str
    framed: bool = False


PORTAL_COOKIE = CookieSpec(
    name="herald_portal", path="/portal", purpose="portal-session/v1", framed=True
)


def cookie_policy(settings: Settings, spec: CookieSpec) -> tuple[bool, Literal["none", "lax"]]:
    """``(secure, samesite)`` for ``spec``'s cookie under ``settings.public_url``."""
    secure = settings.public_url.startswith("https://")
    return secure, "none" if secure and spec.framed else "lax"


class SessionCookies:
    """Issue, read and clear the signed session cookie described by ``spec``."""

    def __init__(self, settings: Settings, spec: CookieSpec) -> None:
        self.spec = spec
        self._signer = signer_for(require_secret_key(settings), spec.purpose)
        self._secure, self._samesite = cookie_policy(settings, spec)

    def issue(self, claims: Claims, expires_at: datetime) -> Cookie:
        value = self._signer.sign(claims, expires_at)
        max_age = max(0, int((expires_at - utcnow()).total_seconds()))
        return self._cookie(value, max_age)

    def read(self, request: Request[Any, Any, Any]) -> dict[str, Any] | None:
        """The claims of the request's cookie; None when absent, tampered or expired."""
        value = request.cookies.get(self.spec.name)
        if not value:
            return None
        try:
            return self._signer.unsign(value, utcnow())
        except BadSignature:
            return None

    def clear(self) -> Cookie:
        return self._cookie("", 0)

    def _cookie(self, value: str, max_age: int) -> Cookie:
        return Cookie(
            key=self.spec.name,
            value=value,
            path=self.spec.path,
            max_age=max_age,
            httponly=True,
            secure=self._secure,
            samesite=self._samesite,
        )
