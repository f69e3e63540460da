"""The agent's HTTP routes, one router per resource (status, cache, jobs, media)."""

from discflow.agent._routes import cache, jobs, media, status

ROUTERS = (status.router, cache.router, jobs.router, media.router)

__all__ = ["ROUTERS"]
