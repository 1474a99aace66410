"""GET /healthz: is this instance answering, and can it reach its database? Never touches Twilio.

Always 200 while the process answers: voice and text answers work from memory even when the
database is down (only recording fails), so a router should keep sending calls here. The JSON says
whether the database is reachable and has every table, and how usage recording is doing.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ivr.line import current_line

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    line = current_line()
    database = line.storage.health()
    database["ok"] = database["reachable"] and database["schema"]
    body = {"answering": True, "database": database, "usage": line.usage.state()}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    app.register_blueprint(bp)
