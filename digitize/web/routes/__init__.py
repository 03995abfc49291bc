"""The JSON API's routes, one module per area, each a registration function
`add_<area>_api(app, svc, need, ip_of, ...)` as keying_api.py and intake.py:
create_app (app.py) builds the app, its middleware, error handlers and shared
dependencies (`principal`, `need`, `ip_of`, `prepare_upload`) and calls them.

    service.py   health, who am I
    results.py   upload, jobs, results, their PDF, versions, page images, words, field crops,
                 matches, shares of a result
    review.py    corrections, review, approve, the review queue
    admin.py     agency-wide shares, reports, the audit log, users, the MoJ export
    search.py    search, lookup by personal id, people, signature verification
    dossiers.py  reuse into a dossier, a dossier

Order matters: create_app registers intake.py's dossier routes before dossiers.py,
whose GET /api/dossiers/{ma_ho_so:path} takes every path under /api/dossiers/; and
the areas in the order that keeps /openapi.json's operations (and /docs's sections)
in the order they always had."""
