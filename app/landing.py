"""What a browser finds at the root: a page of links (API docs, health, console) and the
favicon. Static, no auth, outside the OpenAPI document."""

from litestar import Controller, MediaType, Response, get

from app import __version__

FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#4f46e5"/>'
    '<path d="M10 8v16M22 8v16M10 16h12" stroke="#fff" stroke-width="4" '
    'stroke-linecap="round"/></svg>'
)

LANDING_HTML = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; color: #141824; background: #f6f7fb;
  max-width: 36rem; margin: 4rem auto; padding: 0 1rem; }}
a {{ color: #4f46e5; }} code {{ font-size: .9em; }} .muted {{ color: #5b6275; }}
</style>
</head>
<body>
<h1>Herald <span class="muted">{__version__}</span></h1>
<p>Outbound webhooks as a service: durable, signed, retried, observable.</p>
<ul>
<li><a href="/schema/swagger">API reference</a> (Swagger UI; the document:
  <a href="/schema/openapi.json"><code>/schema/openapi.json</code></a>)</li>
<li><a href="/healthz">Health</a> and <a href="/readyz">readiness</a></li>
<li><a href="/console">Support console</a> (staff accounts from
  <code>herald staff create</code>)</li>
</ul>
<p class="muted">Tenants reach their portal through a link from
<code>POST /api/v1/tenants/{{tenant}}/portal-access</code>.</p>
</body>
</html>
"""

# The page has no script and loads nothing but the favicon.
_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class LandingController(Controller):
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def landing(self) -> Response[str]:
        """Links to the API reference, health and the support console."""
        return Response(LANDING_HTML, media_type=MediaType.HTML, headers=_HEADERS)

    @get("/favicon.ico", media_type="image/svg+xml")
    async def favicon(self) -> Response[str]:
        """Herald's icon (SVG, whatever the name says)."""
        return Response(
            FAVICON_SVG,
            media_type="image/svg+xml",
            headers={**_HEADERS, "cache-control": "public, max-age=86400"},
        )
