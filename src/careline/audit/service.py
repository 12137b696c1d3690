"""Writing and verifying the audit chain.

Events are queued on the session and written just before it commits, under a lock that
serialises the chain across processes (a row lock on the chain's head on PostgreSQL; SQLite's
BEGIN IMMEDIATE already allows one writer). The lock is taken last, after the transaction's other
writes, so it is held only for two statements and the commit. Being in the same transaction as the
access means: if the audit write fails, the commit fails, and the request returns an error
instead of the data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from careline.audit.models import AuditEvent, AuditHead, Outcome
from careline.db import SYSTEM, open_session
from careline.kit.clock import utcnow

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 7_345_001


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, or a named system process (CLI, worker)."""

    label: str
    user_id: int | None = None
    ip: str | None = None


@dataclass
class _Pending:
    actor: Actor
    action: str
    tenant_id: int | None
    object_type: str | None
    object_id: str | None
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    tenant_id: int | None = None,
    object_type: str | None = None,
    object_id: object = None,
    outcome: Outcome = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> None:
    """Queue an audit event; it is written in this session's transaction, just before commit."""
    pending = session.info.setdefault("audit_pending", [])
    pending.append(
        _Pending(
            actor=actor,
            action=action,
            tenant_id=tenant_id,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            outcome=str(outcome),
            detail=detail or {},
        )
    )


def record_now(factory: sessionmaker[Session], actor: Actor, action: str, **kwargs: Any) -> None:
    """Write an event in a transaction of its own (failed logins, denials: the request itself rolls back)."""
    session = open_session(factory, SYSTEM)
    try:
        record(session, actor, action, **kwargs)
        session.commit()
    finally:
        session.close()


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)


def _fields(ev: AuditEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "at": ev.at.isoformat(timespec="microseconds"),
        "actor_user_id": ev.actor_user_id,
        "actor": ev.actor,
        "tenant_id": ev.tenant_id,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "outcome": ev.outcome,
        "ip": ev.ip,
        "detail": ev.detail,
    }


def compute_hash(prev_hash: str, ev: AuditEvent) -> str:
    """The chain hash of an event: SHA-256 over the previous hash and the event's canonical fields."""
    return hashlib.sha256((prev_hash + "|" + _canonical(_fields(ev))).encode()).hexdigest()


def _head_for_update(session: Session) -> tuple[int, str]:
    """The chain's head (seq, hash), row-locked until commit on PostgreSQL: this lock is what
    serialises the chain across processes (SQLite's BEGIN IMMEDIATE already allows one writer)."""
    if session.get_bind().dialect.name != "postgresql":
        row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
        if row is None:
            session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
            return 0, GENESIS
        return int(row[0]), str(row[1])
    row = session.execute(_PG_HEAD).first()  # plain text: the lock is held from here to the commit
    if row is None:
        # The very first event of a database: there is no row to lock yet, so the first writers
        # take turns on an advisory lock, and the first of them creates the head.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
        row = session.execute(_PG_HEAD).first()
        if row is None:
            session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
            return 0, GENESIS
    return int(row[0]), str(row[1])


def _write_pending(session: Session) -> None:
    pending: list[_Pending] = session.info.pop("audit_pending", [])
    if not pending:
        return
    # Everything else the transaction writes goes first: the chain's lock is taken last, so it is
    # held only for the audit statements and the commit, never while the request does its work.
    session.flush()
    seq, prev = _head_for_update(session)
    rows = []
    for p in pending:
        seq += 1
        ev = AuditEvent(
            seq=seq,
            at=p.at,
            actor_user_id=p.actor.user_id,
            actor=p.actor.label,
            tenant_id=p.tenant_id,
            action=p.action,
            object_type=p.object_type,
            object_id=p.object_id,
            outcome=p.outcome,
            ip=p.actor.ip,
            detail=p.detail,
            prev_hash=prev,
        )
        ev.hash = compute_hash(prev, ev)
        prev = ev.hash
        rows.append({key: getattr(ev, key) for key in _COLUMNS})
    if session.get_bind().dialect.name == "postgresql":
        # One round trip while the lock is held: the new rows and the new head together, in a
        # statement whose text is the same for any number of rows (compiled once, prepared).
        params: dict[str, Any] = {key: [row[key] for row in rows] for key in _COLUMNS}
        params["detail"] = [json.dumps(d) for d in params["detail"]]
        session.execute(_PG_WRITE, {**params, "head_seq": seq, "head_hash": prev})
    else:
        session.execute(insert(AuditEvent).values(rows))
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))


_COLUMN_TYPES = {
    "seq": "bigint",
    "at": "timestamptz",
    "actor_user_id": "integer",
    "actor": "varchar",
    "tenant_id": "integer",
    "action": "varchar",
    "object_type": "varchar",
    "object_id": "varchar",
    "outcome": "varchar",
    "ip": "varchar",
    "detail": "json",
    "prev_hash": "varchar",
    "hash": "varchar",
}
_COLUMNS = tuple(_COLUMN_TYPES)
_PG_HEAD = text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
_PG_WRITE = text(
    "WITH new_audit_events AS (INSERT INTO audit_events ("
    + ", ".join(_COLUMNS)
    + ") SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMN_TYPES.items())
    + ")) UPDATE audit_head SET seq = :head_seq, hash = :head_hash WHERE id = 1"
)


@event.listens_for(Session, "before_commit")
def _flush_audit_before_commit(session: Session) -> None:
    if session.info.get("audit_pending"):
        _write_pending(session)


@event.listens_for(Session, "after_rollback")
def _drop_audit_on_rollback(session: Session) -> None:
    session.info.pop("audit_pending", None)


@dataclass(frozen=True)
class Problem:
    """One break in the chain, with the row it was found at."""

    seq: int | None
    message: str


def _rows(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            )
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify_chain(session: Session) -> tuple[int, list[Problem]]:
    """Walk the chain; report edited rows (hash mismatch), deleted rows (gaps, broken links, head)."""
    problems: list[Problem] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for ev in _rows(session):
        count += 1
        if ev.seq != expected_seq:
            problems.append(Problem(expected_seq, f"rows {expected_seq}..{ev.seq - 1} are missing (deleted)"))
        elif ev.prev_hash != prev:
            problems.append(Problem(ev.seq, f"row {ev.seq} does not link to the row before it"))
        if compute_hash(ev.prev_hash, ev) != ev.hash:
            problems.append(Problem(ev.seq, f"row {ev.seq} was edited: its contents do not match its hash"))
        expected_seq, prev = ev.seq + 1, ev.hash
    head = session.get(AuditHead, 1, populate_existing=True)  # the head moves by Core statements
    last_seq = expected_seq - 1
    if head is not None and head.seq != last_seq:
        problems.append(
            Problem(head.seq, f"the newest rows {last_seq + 1}..{head.seq} are missing (deleted)")
        )
    elif head is not None and head.hash != prev:
        problems.append(Problem(head.seq, f"row {head.seq} does not match the recorded head of the chain"))
    return count, problems


def search(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    tenant_ids: frozenset[int] | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEvent]:
    """Newest-first audit events matching the filters."""
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, 1000)))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if tenant_ids is not None:
        stmt = stmt.where(AuditEvent.tenant_id.in_(tenant_ids))
    if before_seq:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return list(session.scalars(stmt))
