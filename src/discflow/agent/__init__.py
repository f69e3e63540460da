"""The device agent: an HTTP service beside one output device (claims 3, 6, 8, 9).

``create_agent_app(config)`` builds the ASGI app (many per process are fine);
``run_agent(config)`` serves one under uvicorn; ``load_config(path)`` reads
``agent.toml``.
"""

from discflow.agent._agent import Agent
from discflow.agent._app import create_agent_app
from discflow.agent._cache import ContentCache, PartialUpload
from discflow.agent._config import AgentConfig, MediaConfig, load_config, parse_config
from discflow.agent._errors import CacheFull, Conflict, HashMismatch
from discflow.agent._jobs import Copy, Job, JobRunner, JobSpec
from discflow.agent._media import MediaCounts, MediaLedger
from discflow.agent._serve import run_agent
from discflow.coordinator import Coordinator

__all__ = [
    "Agent",
    "AgentConfig",
    "CacheFull",
    "Conflict",
    "ContentCache",
    "Coordinator",
    "Copy",
    "HashMismatch",
    "Job",
    "JobRunner",
    "JobSpec",
    "MediaConfig",
    "MediaCounts",
    "MediaLedger",
    "PartialUpload",
    "create_agent_app",
    "load_config",
    "parse_config",
    "run_agent",
]
