"""XStatic-Leaflet (pinned in constraints.txt) ships no types: the two names
blueprints/response/assets.py reads, for mypy only."""

BASE_DIR: str
VERSION: str
