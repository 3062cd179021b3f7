"""HTTP only: parse the request, call a service in ``floorplans``, commit, render or redirect.

Blueprints never import boto3, pymupdf or PIL, and never build storage keys.
"""
