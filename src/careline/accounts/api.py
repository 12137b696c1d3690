"""REST routes: who am I, users (admin), my API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from careline.accounts import service
from careline.accounts.permissions import ROLE_PERMISSIONS, Permission
from careline.accounts.schemas import (
    MeOut,
    TenantRef,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserPatch,
)
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1", tags=["accounts"])

SignedIn = Annotated[RequestContext, Depends(require(Permission.SIGNED_IN))]
Admin = Annotated[RequestContext, Depends(require(Permission.USER_MANAGE))]
ERRORS = {401: {"description": "not signed in"}, 403: {"description": "role may not"}}


@api.get("/me", response_model=MeOut, responses=ERRORS)
def me(ctx: SignedIn) -> MeOut:
    """The signed-in user, their permissions and tenants."""
    tenants = [TenantRef.model_validate(t) for t in list_tenants(ctx.db, ctx.tenant_ids)]
    perms = sorted(str(p) for p in ROLE_PERMISSIONS[ctx.user.role])
    return MeOut(
        id=ctx.user.id,
        email=ctx.user.email,
        name=ctx.user.name,
        role=ctx.user.role,
        permissions=perms,
        tenants=tenants,
    )


@api.get("/users", response_model=list[UserOut], responses=ERRORS)
def list_users(ctx: Admin) -> list[UserOut]:
    """Every user (admin)."""
    return [UserOut.model_validate(u) for u in service.list_users(ctx.db)]


@api.post("/users", response_model=UserOut, status_code=201, responses={**ERRORS, 409: {}, 422: {}})
def create_user(body: UserCreate, ctx: Admin) -> UserOut:
    """Create a user with a role and tenants (admin)."""
    user = service.create_user(
        ctx.db,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        tenant_slugs=body.tenants,
        cheap_hash=ctx.settings.password_hash_cheap,
    )
    ctx.audit("user.create", object_type="user", object_id=user.id, detail={"role": str(user.role)})
    return UserOut.model_validate(service.get_user(ctx.db, user.id))


@api.get("/users/{user_id}", response_model=UserOut, responses={**ERRORS, 404: {}})
def get_user(user_id: int, ctx: Admin) -> UserOut:
    """One user (admin)."""
    return UserOut.model_validate(service.get_user(ctx.db, user_id))


@api.patch("/users/{user_id}", response_model=UserOut, responses={**ERRORS, 404: {}, 422: {}})
def patch_user(user_id: int, body: UserPatch, ctx: Admin) -> UserOut:
    """Rename, disable or re-enable a user; disabling ends their sessions everywhere (admin)."""
    user = service.get_user(ctx.db, user_id)
    if body.name is not None:
        user.name = body.name.strip()
    if body.active is not None and body.active != user.active:
        service.set_active(ctx.db, user, body.active)
        ctx.audit("user.enable" if body.active else "user.disable", object_type="user", object_id=user.id)
    return UserOut.model_validate(user)


@api.get("/tokens", response_model=list[TokenOut], responses=ERRORS)
def list_tokens(ctx: SignedIn) -> list[TokenOut]:
    """My API tokens."""
    return [TokenOut.model_validate(t) for t in service.list_tokens(ctx.db, ctx.user)]


@api.post("/tokens", response_model=TokenCreated, status_code=201, responses={**ERRORS, 422: {}})
def create_token(body: TokenCreate, ctx: SignedIn) -> TokenCreated:
    """Create an API token for myself; the secret is shown once."""
    token, secret = service.create_token(ctx.db, ctx.user, body.name)
    ctx.audit("token.create", object_type="api_token", object_id=token.id)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@api.delete("/tokens/{token_id}", response_model=TokenOut, responses={**ERRORS, 404: {}})
def revoke_token(token_id: int, ctx: SignedIn) -> TokenOut:
    """Revoke one of my tokens."""
    token = service.revoke_token(ctx.db, ctx.user, token_id)
    ctx.audit("token.revoke", object_type="api_token", object_id=token.id)
    return TokenOut.model_validate(token)
