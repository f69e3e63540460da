"""Which sites this dispatcher plans: one ``planner:<site>`` lease per site, and
the floor's lease (``FLOOR_LEASE``): one holder for every site's notices, lost jobs,
labels and webhooks.

Invariants:
- A site is planned by the holder of its lease only (``store.acquire_lease``
  is one conditional UPDATE), so two dispatchers never plan one site's devices
  at once; a dead dispatcher's sites are taken over once its leases expire.
- The sharing rule, stated once (``site_share``): with no ``--sites`` a
  dispatcher holds at most ceil(sites / live dispatchers) site leases. It
  renews the ones it holds (first by name) up to that share, lets go of any
  beyond it (a dispatcher joined) and takes free ones (by name) while under it,
  so N dispatchers on N sites end up with one each within a few rounds.
  With ``--sites a,b`` it takes every listed site it can, and no other.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from sqlalchemy.orm import Session

from discflow import store

FLOOR_LEASE = "planner"  # the name it had before sites


def site_share(sites: int, alive: int) -> int:
    """How many site leases one of ``alive`` dispatchers may hold."""
    return math.ceil(sites / max(1, alive))


class SiteLeases:
    def __init__(self, *, owner: str, ttl_s: float, sites: Collection[str] = ()) -> None:
        self.owner = owner
        self.ttl_s = ttl_s
        self.fixed = sorted({store.check_site(site) for site in sites})
        self.held: set[str] = set()

    def renew(self, session: Session) -> set[str]:
        """One round's turn: announce this dispatcher, keep, drop or take site leases;
        returns the sites this dispatcher plans until the next round."""
        alive = store.announce_dispatcher(session, owner=self.owner, ttl_s=self.ttl_s)
        candidates = self.fixed or store.device_sites(session)
        share = len(candidates) if self.fixed else site_share(len(candidates), alive)
        held = sorted(store.held_site_leases(session, owner=self.owner) | self.held)
        keep = [site for site in held if site in candidates][:share]
        for site in set(held) - set(keep):
            store.release_lease(session, store.site_lease(site), owner=self.owner)
        taken = {site for site in keep if self._take(session, site)}
        for site in candidates:
            if len(taken) >= share:
                break
            if site not in taken and self._take(session, site):
                taken.add(site)
        self.held = taken
        return taken

    def _take(self, session: Session, site: str) -> bool:
        return store.acquire_lease(
            session, store.site_lease(site), owner=self.owner, ttl_s=self.ttl_s
        )

    def release(self, session: Session) -> None:
        for site in self.held:
            store.release_lease(session, store.site_lease(site), owner=self.owner)
        store.withdraw_dispatcher(session, owner=self.owner)
        self.held = set()
