"""Flickr groups: the API client, licenses, target x scene searches, near-duplicates, resumable ingest."""
