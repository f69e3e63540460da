"""The scheduler: who burns what, where, and what the operator must load (claims 8, 9).

Pure: no I/O, no clock, no database (only ``_accel`` reads files, at import:
which build of the hot modules to load, compiled or source; see there). The
live dispatcher and the simulator call the same function, so what is
benchmarked is what runs.

The online interface
--------------------
``plan(snapshot) -> Plan`` (alias of ``plan_discflow``); the baselines
``plan_first_available`` and ``plan_round_robin`` have the same signature,
and ``POLICIES`` maps the CLI names to them.

A ``Snapshot`` is the world after every decision already handed out:

- ``now``: the caller's clock, seconds.
- ``devices``: ``DeviceView`` per device: ``name``, ``online``,
  ``drives_free_s`` (per drive, when its queued work ends; ``<= now`` if
  idle), ``media`` (media name -> ``MediaStock``: ``blanks`` loaded and not yet
  promised, ``write_Bps``, ``overhead_s``, ``low_threshold``,
  ``reload_pending``), ``cache_bytes``, ``cached`` (content id ->
  ``CachedContent``: ``size_bytes``, ``last_used_s``, ``ready_s`` (download end),
  ``busy_until_s`` (end of its last promised burn), ``pinned``, ``hits``),
  ``link_Bps`` and ``download_free_s`` (when its one download slot frees).
- ``contents``: content id -> size in bytes; ``media_capacity``: media -> bytes.
- ``requests``: the ``QueuedRequest`` s not yet placed (``id``, ``content``,
  ``media``, ``copies`` still to make, ``arrival_s``, ``seq`` = arrival order).
- ``operator``: ``OperatorSettings(reload_count, reload_delay_s)``.

A ``Plan`` holds ``evictions`` (device, content, ``at_s``, ``for_content``:
the download it makes room for), ``downloads`` (device, content, estimated
start/end), ``assignments`` (request, device, content, media, copies,
estimated start/end; a device runs its copies on its earliest free drives),
each with a ``step``: carried out in ascending step order they reproduce the
planner's estimates. Then ``notices`` (device, media,
``blanks_needed``, ``requests_waiting``, ``message`` such as "Load 100 CD-R
into pub-2: 3 requests waiting (0 blanks left)"), ``waiting`` (copies that
can be placed later, e.g. after a reload, with the reason) and
``unplaceable`` (requests no device can ever serve, with the reason).

A caller applies the Plan, then next time passes a Snapshot that reflects it:
promised blanks subtracted, drive and download times pushed out, evicted
contents gone and downloads listed (with ``ready_s``), ``reload_pending`` set
for noticed (device, media) pairs, and only the still-waiting copies queued.
``simulate`` does exactly that for benchmarks; ``validate_plan`` checks a
simulated plan document against every rule of the workload schema.

``plan_discflow(snapshot, cache_policy="gdsf")`` also takes ``"lru"``.
It binds late: only the discs a drive starts within its device's horizon
(about one content's fetch time) are assigned; every other copy comes back in
``waiting`` and ``Plan.wake_s`` says when to ask again (the dispatcher plans
every second anyway). Requests short of blanks wait too, and notices ask for
blanks ahead of time (before the planned work would use them up). The policy
is deterministic: equal snapshots, equal plans.

The standing form
-----------------
``DiscflowPlanner(snapshot)`` (``start_discflow``) keeps the plan between
rounds: ``step(now, arrivals, reloads)`` takes only what changed and returns
that round's Plan. ``simulate`` runs ``POLICIES["discflow"]`` this way (a
``StandingPolicy``); ``plan_discflow`` is one such round from a full snapshot,
so the benchmark and the live dispatcher run the same decision code.
"""

# First: decides whether the hot modules below load compiled or from source.
from discflow.scheduler._accel import BUILD
from discflow.scheduler._baselines import plan_first_available, plan_round_robin
from discflow.scheduler._cache import CACHE_POLICIES, CachePolicy, choose_victims
from discflow.scheduler._discflow import (
    DEFAULT_CACHE_POLICY,
    DiscflowPlanner,
    plan_discflow,
    start_discflow,
)
from discflow.scheduler._fleets import MODELS, Recipe, generate_fleet
from discflow.scheduler._generate import Arrival, generate_workload
from discflow.scheduler._model import (
    Assignment,
    CachedContent,
    DeviceView,
    Download,
    Eviction,
    MediaStock,
    OperatorNotice,
    OperatorSettings,
    Plan,
    QueuedRequest,
    Reloaded,
    Snapshot,
    Unplaceable,
    Waiting,
)
from discflow.scheduler._pool import AGING_RATE, DUE_FACTOR, WEIGHTS
from discflow.scheduler._simulate import Planner, Policy, SimResult, StandingPolicy, simulate
from discflow.scheduler._summary import (
    download_lower_bound,
    lower_bounds,
    percentile,
    summarize,
)
from discflow.scheduler._validate import validate_plan
from discflow.scheduler._workload import (
    DeviceSpec,
    MediaSpec,
    RequestSpec,
    Workload,
    WorkloadError,
    parse_workload,
    workload_to_dict,
)

plan = plan_discflow

POLICIES: dict[str, Policy | StandingPolicy] = {
    "discflow": StandingPolicy(start_discflow),
    "first-available": plan_first_available,
    "round-robin": plan_round_robin,
}

__all__ = [
    "BUILD",
    "AGING_RATE",
    "DUE_FACTOR",
    "CACHE_POLICIES",
    "DEFAULT_CACHE_POLICY",
    "MODELS",
    "POLICIES",
    "Arrival",
    "Assignment",
    "CachePolicy",
    "CachedContent",
    "DeviceSpec",
    "DeviceView",
    "DiscflowPlanner",
    "Download",
    "Eviction",
    "MediaSpec",
    "MediaStock",
    "OperatorNotice",
    "OperatorSettings",
    "Plan",
    "Planner",
    "Policy",
    "QueuedRequest",
    "Recipe",
    "Reloaded",
    "RequestSpec",
    "SimResult",
    "Snapshot",
    "StandingPolicy",
    "Unplaceable",
    "WEIGHTS",
    "Waiting",
    "Workload",
    "WorkloadError",
    "choose_victims",
    "download_lower_bound",
    "generate_fleet",
    "generate_workload",
    "lower_bounds",
    "parse_workload",
    "percentile",
    "plan",
    "plan_discflow",
    "plan_first_available",
    "plan_round_robin",
    "simulate",
    "start_discflow",
    "summarize",
    "validate_plan",
    "workload_to_dict",
]
