"""Surfaces over HTTP: the REST API, the chat websocket, the static panel, and the Slack / Discord endpoints."""
