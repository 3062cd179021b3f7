"""floorplans: building records and floor plans of places of worship, for the officers who
respond to them.  ``create_app`` is the only place that knows the blueprints.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from floorplans import (
        acting,
        agency_sign_in,
        auth,
        bounds,
        cli,
        config,
        db,
        jobs,
        objects,
        security,
        templating,
        tile_gate,
    )

    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("FLOORPLANS_INSTANCE_PATH")
    app = db.App(  # Flask with one unit of work per request (floorplans.db)
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    config.load_config(app, test_config)
    # Answers keep the order the code builds them in (a building's name before its floors);
    # since Flask 3.1 the JSON provider holds this, not the JSON_SORT_KEYS setting.
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's attribute
    bounds.init_app(app)  # first: its id converter and request checks come before every rule and hook
    db.init_app(app)
    objects.init_app(app)
    jobs.init_app(app)
    auth.init_app(app)
    acting.init_app(app)  # each request's origin for the audit log, declared before its other hooks
    agency_sign_in.init_app(app)  # agency sign-in (OpenID Connect), when OIDC_ISSUER is set
    tile_gate.init_app(app)  # before security: the proxy settings wrap the gate
    security.init_app(app)
    templating.init_app(app)
    cli.init_app(app)

    from blueprints import account_links, admin, api, errors, health, invitations, limits, partners, planning, response
    from blueprints import auth as auth_pages

    app.register_blueprint(errors.bp)
    app.register_blueprint(limits.bp)  # quotas' 429 answers
    app.register_blueprint(health.bp)
    app.register_blueprint(auth_pages.bp)
    app.register_blueprint(partners.bp, url_prefix="/portal")
    app.register_blueprint(response.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(planning.bp, url_prefix="/exercises")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(account_links.bp)  # invitations and password resets
    app.register_blueprint(invitations.bp)
    auth.csrf.exempt(api.bp)  # the API checks CSRF itself for browser sessions (auth.enforce_permission)

    undeclared = sorted(
        endpoint for endpoint in app.view_functions if auth.declared_permission(app, endpoint) is None
    )
    if undeclared:
        raise RuntimeError(f"Routes without a declared permission: {', '.join(undeclared)}")
    return app
