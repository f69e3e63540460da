"""The DICOM service: Verification, Storage and Media Creation Management as SCP.

Invariants: an association from an AE title (and host) not allowed with
``discflow dicom allow`` is rejected at A-ASSOCIATE time (permanent, service user,
"calling AE title not recognized", PS3.8 9.3.4) and logged with the AE title and
address only; every handler runs its own transaction and answers with a status
from ``_status``; handlers are thin, the logic is in ``_spool``, ``_requests`` and
``_initiate``. The log carries request hashes, AE titles and statuses, never a
dataset: pynetdicom's own logger is held at WARNING, because its debug output
would dump datasets with patient names.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, StoragePresentationContexts, evt

from discflow.dicom import _status as st
from discflow.dicom._attributes import DicomRefusal, parse_create, parse_initiate
from discflow.dicom._initiate import Context, _short, build, claim, interrupted
from discflow.dicom._peers import account_for
from discflow.dicom._requests import cancel, create_request, settle, status
from discflow.dicom._spool import store_instance, sweep_expired
from discflow.dicom._tables import MediaRequest

_log = logging.getLogger("discflow.dicom")
_UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
VERIFICATION = "1.2.840.10008.1.1"
MEDIA_CREATION_MANAGEMENT = "1.2.840.10008.5.1.1.33"


def _peer(event: Any) -> tuple[str, str]:
    requestor = event.assoc.requestor
    # the A-ASSOCIATE-RQ's own field: requestor.ae_title is set only after negotiation
    title = requestor.primitive.calling_ae_title if requestor.primitive else requestor.ae_title
    return str(title or "").strip(), str(requestor.address)


class DicomService:
    """One AE listening on ``settings.host:settings.port`` until ``stop``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._server: Any = None
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._builds = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pdi-build")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        ae = AE(ae_title=ctx.settings.ae_title)
        ae.add_supported_context(VERIFICATION, _UNCOMPRESSED)
        ae.add_supported_context(MEDIA_CREATION_MANAGEMENT, _UNCOMPRESSED)
        for context in StoragePresentationContexts:
            ae.add_supported_context(str(context.abstract_syntax), _UNCOMPRESSED)
        ae.maximum_pdu_size = 0
        self.ae = ae

    # -- handlers ------------------------------------------------------------

    def _account(self, event: Any) -> int | None:
        title, host = _peer(event)
        with self.ctx.database.transaction() as session:
            return account_for(session, ae_title=title, host=host)

    def on_requested(self, event: Any) -> None:
        if self._account(event) is None:
            title, host = _peer(event)
            _log.warning("DICOM association refused: AE title %r from %s is not allowed",
                         title, host)  # fmt: skip
            event.assoc.acse.send_reject(0x01, 0x01, 0x03)
            # as pynetdicom's own require_calling_aet path does: wait until the
            # A-ASSOCIATE-RJ went out (DUL back in Sta1) before the socket closes
            event.assoc.kill()

    def on_echo(self, event: Any) -> int:
        return st.SUCCESS

    def on_store(self, event: Any) -> int | Dataset:
        user_id = self._account(event)
        if user_id is None:
            return st.STORE_OUT_OF_RESOURCES
        title, _host = _peer(event)
        try:
            ds = event.dataset
            with self.ctx.database.transaction() as session:
                store_instance(
                    session,
                    self.ctx.spool,
                    ds,
                    event.file_meta,
                    affected_uid=str(event.request.AffectedSOPInstanceUID or ""),
                    user_id=user_id,
                    calling_ae=title,
                    ttl_s=self.ctx.settings.instance_ttl_s,
                )
        except DicomRefusal as refusal:
            _log.info("C-STORE from %s refused with 0x%04X", title, refusal.status)
            return refusal.as_dataset()
        except Exception as exc:  # undecodable data: pydicom raises on first access
            _log.info("C-STORE from %s refused: %s", title, type(exc).__name__)
            return st.STORE_CANNOT_UNDERSTAND
        return st.SUCCESS

    def on_create(self, event: Any) -> tuple[int | Dataset, Dataset | None]:
        user_id = self._account(event)
        if user_id is None:
            return st.REFUSED_NOT_AUTHORIZED, None
        title, _host = _peer(event)
        given = str(event.request.AffectedSOPInstanceUID or "")
        uid = given or str(generate_uid())
        try:
            spec = parse_create(event.attribute_list)
            with self.ctx.database.transaction() as session:
                create_request(session, spec, uid=uid, user_id=user_id, calling_ae=title)
        except DicomRefusal as refusal:
            _log.info("N-CREATE from %s refused with 0x%04X", title, refusal.status)
            return refusal.as_dataset(), None
        reply = Dataset()
        for keyword, value in spec.attributes.items():
            setattr(reply, keyword, value)
        reply.ExecutionStatus = st.ExecutionStatus.IDLE.value
        reply.ExecutionStatusInfo = st.StatusInfo.NORMAL.value
        if not given:
            reply.AffectedSOPInstanceUID = uid  # pynetdicom moves it into the response
        _log.info("media creation request %s created by %s", _short(uid), title)
        return st.SUCCESS, reply

    def on_action(self, event: Any) -> tuple[int | Dataset, Dataset | None]:
        user_id = self._account(event)
        if user_id is None:
            return st.REFUSED_NOT_AUTHORIZED, None
        uid = str(event.request.RequestedSOPInstanceUID or "")
        try:
            if event.action_type == st.ACTION_INITIATE:
                action = parse_initiate(event.action_information)
                claimed = claim(self.ctx, uid, user_id=user_id, action=action)
                # S.3.2.2.3: success means "scheduled"; the file-sets are built after
                # the answer, so a large study does not run into the SCU's DIMSE timeout
                self._submit(claimed)
            elif event.action_type == st.ACTION_CANCEL:
                with self.ctx.database.transaction() as session:
                    cancel(session, uid, user_id=user_id)
            else:
                return st.NO_SUCH_ACTION, None
        except DicomRefusal as refusal:
            _log.info("N-ACTION %s on %s refused with 0x%04X", event.action_type,
                      _short(uid), refusal.status)  # fmt: skip
            return refusal.as_dataset(), None
        return st.SUCCESS, Dataset()

    def _submit(self, claimed: Any) -> None:
        future = self._builds.submit(self._build, claimed)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _build(self, claimed: Any) -> None:
        try:
            build(self.ctx, claimed)
        except Exception:  # the pool would swallow it: say it, N-GET keeps saying PENDING
            _log.exception("media creation request %s: build failed", _short(claimed.uid))

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """True once every build submitted so far has finished."""
        with self._lock:
            pending = list(self._pending)
        _done, not_done = wait(pending, timeout=timeout_s)
        return not not_done

    def on_get(self, event: Any) -> tuple[int | Dataset, Dataset | None]:
        user_id = self._account(event)
        if user_id is None:
            return st.REFUSED_NOT_AUTHORIZED, None
        uid = str(event.request.RequestedSOPInstanceUID or "")
        try:
            with self.ctx.database.transaction() as session:
                view = status(session, uid, user_id=user_id, spool=self.ctx.spool)
        except DicomRefusal as refusal:
            return refusal.as_dataset(), None
        return st.SUCCESS, status_dataset(view)

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_C_ECHO, self.on_echo),
            (evt.EVT_C_STORE, self.on_store),
            (evt.EVT_N_CREATE, self.on_create),
            (evt.EVT_N_ACTION, self.on_action),
            (evt.EVT_N_GET, self.on_get),
        ]
        address = (self.ctx.settings.host, self.ctx.settings.port)
        self._server = self.ae.start_server(address, block=False, evt_handlers=handlers)
        for claimed in interrupted(self.ctx):
            _log.info("media creation request %s: building again after a restart",
                      _short(claimed.uid))  # fmt: skip
            self._submit(claimed)
        self._sweeper = threading.Thread(target=self._sweep_loop, name="dicom-sweep", daemon=True)
        self._sweeper.start()
        _log.info("DICOM service %s listening on %s:%s", self.ctx.settings.ae_title, *address)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server = None  # stop twice is harmless
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        self._builds.shutdown(wait=True)  # a started build finishes: no half-made order

    def sweep(self) -> None:
        """Expire unclaimed instances; settle ordered requests (deletes verified ones')."""
        with self.ctx.database.transaction() as session:
            sweep_expired(session, self.ctx.spool)
            for request in session.query(MediaRequest).filter(MediaRequest.state == "ordered"):
                settle(session, request, spool=self.ctx.spool)

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.ctx.settings.sweep_interval_s):
            try:
                self.sweep()
            except Exception:
                _log.exception("DICOM sweep failed; trying again later")


def status_dataset(view: Any) -> Dataset:
    """N-GET attributes of PS3.4 Table S.3.2.4.1-1 for ``view``."""
    ds = Dataset()
    ds.ExecutionStatus = view.execution.value
    ds.ExecutionStatusInfo = view.info.value
    ds.TotalNumberOfPiecesOfMediaCreated = view.pieces
    failed = []
    for item in view.failed:
        entry = Dataset()
        entry.ReferencedSOPClassUID = item["class"]
        entry.ReferencedSOPInstanceUID = item["instance"]
        entry.FailureReason = int(item["reason"])
        failed.append(entry)
    ds.FailedSOPSequence = failed
    media = []
    for disc in view.media:
        entry = Dataset()
        entry.StorageMediaFileSetID = disc["id"]
        entry.StorageMediaFileSetUID = disc["uid"]
        media.append(entry)
    ds.ReferencedStorageMediaSequence = media
    return ds
