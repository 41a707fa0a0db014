"""Where each page lives: the app's permalink and the static site's file, one to one.

Pandas-free, so the landing page can link its static twin without the analysis stack.
The static site's public address comes from ``--base-url`` or ``$EVIDENCE_SITE_URL``.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, urlencode

DEFAULT_SITE_URL = "http://localhost:8000"


def slug(text: str) -> str:
    """A file-name-safe lower-case slug ("24 hours (12–36 h)" -> "24-hours-12-36-h")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def site_path(kind: str, **params: str) -> str:
    """The static site's file for a page, relative to the site's root (or a version's root)."""
    if kind == "claims":
        return "index.html"
    if kind == "claim":
        return f"claim/{quote(params['claim'], safe='')}.html"
    if kind == "study":
        return f"study/{quote(params['study'], safe='')}.html"
    if kind == "methods":
        return "methods.html"
    if kind == "explorer":
        view = params.get("view")
        return f"explorer/{view}.html" if view else "explorer/index.html"
    raise KeyError(f"no static page for {kind!r}")


def app_path(kind: str, **params: str) -> str:
    """The app's permalink for the same page (``claim?claim=x``), relative to the app's root."""
    route = {"claims": "", "claim": "claim", "study": "study", "methods": "methods", "explorer": "explorer"}[kind]
    query = urlencode(params) if params else ""
    return route + (f"?{query}" if query else "")


def site_url(explicit: str | None = None) -> str | None:
    """The published site's address: explicit, else ``$EVIDENCE_SITE_URL``, else None (not published)."""
    url = explicit or os.environ.get("EVIDENCE_SITE_URL")
    return url.rstrip("/") if url else None


def static_twin(kind: str, **params: str) -> str:
    """A Markdown line for an app page: a link to its static twin, or where it would be."""
    path = site_path(kind, **params)
    base = site_url()
    if base:
        return f"Static copy of this page (fixed data version, citable): [{path}]({base}/{path})"
    return (f"Static copy of this page: `{path}` in the published site (`python -m evidence site`; set "
            "`EVIDENCE_SITE_URL` to link it here).")
