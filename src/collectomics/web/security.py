"""What every answer carries for a browser's safety, and which IRIs a page may link to.

HTML pages get a Content-Security-Policy that allows scripts from this server and inline
scripts that carry the page's nonce only (a ``javascript:`` link or an injected ``<script>``
does not run), no framing (but the reconciliation preview, which OpenRefine shows in a frame),
and no referrer; every other answer gets a policy that allows nothing, and ``nosniff``."""

from __future__ import annotations

import re
import secrets

from flask import Response, g, request

#: Schemes an IRI in the graph may have to become a link on a page; any other (``javascript:``,
#: ``data:``, ``vbscript:``, ``file:``...) is shown as text.
LINK_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")

#: On every answer.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: The policy of everything that is not an HTML page (results, RDF, JSON, scripts, errors).
STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: Pages that another site may show in a frame (OpenRefine's reconciliation preview).
FRAMEABLE = ("/reconcile/preview",)


def linkable(iri: object) -> bool:
    """True when ``iri`` may be a link's target: an http(s) or mailto IRI (checked on the
    scheme, case-insensitively, after the whitespace and control characters a browser drops)."""
    if not isinstance(iri, str):
        return False
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", iri)
    m = _SCHEME.match(cleaned)
    return m is not None and m.group(1).lower() in LINK_SCHEMES


def csp_nonce() -> str:
    """The nonce of this request's page (an inline script runs only with it)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return str(nonce)


def page_policy(nonce: str | None, frameable: bool) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; " + ("frame-ancestors *" if frameable else "frame-ancestors 'none'")
    )


def secure(response: Response) -> Response:
    """Add the security headers to a Flask response (an ``after_request`` hook)."""
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    if response.mimetype == "text/html":
        frameable = request.path in FRAMEABLE
        response.headers["Content-Security-Policy"] = page_policy(g.get("csp_nonce"), frameable)
        if not frameable:
            response.headers["X-Frame-Options"] = "DENY"
    else:
        response.headers["Content-Security-Policy"] = STRICT_POLICY
    return response


#: The same for the ``/sparql`` fast path, which answers results and plain-text errors only.
FAST_HEADERS = [*HEADERS.items(), ("Content-Security-Policy", STRICT_POLICY)]
