"""Front-end code installed from the npm registry (``package.json``, ``package-lock.json``) and
served by the app itself, never from a CDN; without it the query page is a plain form."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

bp = Blueprint("frontend", __name__)

#: The project root in a checkout (src layout), where `npm ci` puts node_modules/.
_ROOTS = (Path(__file__).resolve().parents[3], Path.cwd())


def yasgui_dir() -> Path | None:
    """The folder of YASGUI's built files, or None if the set-up has not installed it."""
    for root in _ROOTS:
        build = root / "node_modules" / "@zazuko" / "yasgui" / "build"
        if (build / "yasgui.min.js").is_file():
            return build
    return None


@bp.get("/assets/yasgui/<path:filename>")
def yasgui(filename: str) -> Response:
    folder = yasgui_dir()
    if folder is None or filename not in {"yasgui.min.js", "yasgui.min.css", "yasgui.min.js.map"}:
        abort(404)
    response = send_from_directory(folder, filename, max_age=3600)
    return response
