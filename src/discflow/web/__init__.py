"""The HTTP face of discflow: REST API, pages, metrics."""

from discflow.web.app import create_app

__all__ = ["create_app"]
