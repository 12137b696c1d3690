"""REST and page routes for reading and verifying the audit log (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.audit import service
from careline.audit.schemas import AuditEventOut, VerifyOut
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

api = router(prefix="/api/v1/audit", tags=["audit"])
pages = router(include_in_schema=False)
Auditor = Annotated[RequestContext, Depends(require(Permission.AUDIT_READ))]


@api.get("", response_model=list[AuditEventOut])
def list_events(
    ctx: Auditor,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_seq: int | None = None,
) -> list[AuditEventOut]:
    """Audit events, newest first, with filters."""
    rows = service.search(
        ctx.db,
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        limit=limit,
        before_seq=before_seq,
    )
    ctx.audit("audit.read", detail={"rows": len(rows)})
    return [AuditEventOut.model_validate(r) for r in rows]


@api.get("/verify", response_model=VerifyOut)
def verify(ctx: Auditor) -> VerifyOut:
    """Walk the hash chain and report any edited or deleted rows."""
    count, problems = service.verify_chain(ctx.db)
    ctx.audit("audit.verify", detail={"rows": count, "problems": len(problems)})
    return VerifyOut(
        rows=count, ok=not problems, problems=[{"seq": p.seq, "message": p.message} for p in problems]
    )


@pages.get("/admin/audit")
def audit_page(
    request: Request, ctx: Auditor, action: str | None = None, actor: str | None = None, verify: bool = False
) -> Response:
    """The audit log with filters and an integrity check."""
    rows = service.search(ctx.db, action=action or None, actor=actor or None, limit=200)
    result = service.verify_chain(ctx.db) if verify else None
    ctx.audit("audit.read", detail={"rows": len(rows), "verify": verify})
    context = {"user": ctx.user, "rows": rows, "action": action or "", "actor": actor or "", "verify": result}
    return render(request, "audit/log.html", context)
