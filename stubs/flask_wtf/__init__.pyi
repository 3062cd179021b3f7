"""Flask-WTF (pinned in constraints.txt) ships no types: floorplans uses only its CSRF
protection (flask_wtf.csrf), typed there for mypy."""
