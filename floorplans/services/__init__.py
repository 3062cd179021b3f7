"""Use cases: plain functions that change the database and flush.  The request, the CLI
command or the job commits.  Must not import blueprints, flask request state, or boto3."""
