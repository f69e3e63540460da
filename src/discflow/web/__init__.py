"""The HTTP face of discflow: REST API, pages, metrics."""

from discflow.web._factory import FACTORY, create_app_from_env
from discflow.web.app import create_app

__all__ = ["FACTORY", "create_app", "create_app_from_env"]
