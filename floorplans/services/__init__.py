"""Use cases: plain functions that change the database and flush.  The request, the CLI
command or the job commits, once (``floorplans.db``: a request's view runs in one unit of
work, committed when it returns and rolled back when it raises).  Work that must follow the
commit (a job, deleting stored files, a mail) is handed to ``floorplans.db.after_commit``.
A service commits only where its line says why (an attempt counter every concurrent request
must see at once, a job's progress).  Must not import blueprints, flask request state, or boto3:
who acts comes as a ``by=`` user or an ``audit.Origin`` (declared for each request by
floorplans.acting), settings as the typed ``floorplans.config.get_settings()``
(tests/test_services_are_explicit.py checks both)."""
