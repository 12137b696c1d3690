"""Settings: one object, read from CARELINE_* environment variables, validated at start."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-change-me"  # noqa: S105 - refused in production by check_production()


class Settings(BaseSettings):
    """Every tunable of the service; documented in docs/operations.md (a test checks that)."""

    model_config = SettingsConfigDict(env_prefix="CARELINE_", extra="ignore")

    database_url: str = "sqlite:///./careline.db"
    secret_key: str = Field(default=DEV_SECRET, min_length=16)
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_ip_limit: int = Field(default=20, ge=1, description="login attempts per IP per window")
    login_account_limit: int = Field(default=5, ge=1, description="failed logins per account per window")
    login_window_minutes: int = Field(default=15, ge=1)
    password_hash_cheap: bool = False
    cookie_secure: bool = False
    escalation_timeout_seconds: int = Field(default=60, ge=5)
    event_poll_seconds: float = Field(default=1.0, gt=0)
    run_worker: bool = Field(default=True, description="run the job worker inside each serving process")
    db_pool_size: int = Field(default=5, ge=1, description="database connections kept per process")
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        description="extra database connections under load (requests doing database work at once: "
        "pool size + overflow - 1)",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="the address callers reach, for links in SMS and email"
    )
    survey_link_days: int = Field(default=7, ge=1, le=90, description="days a survey link stays valid")
    match_index: Literal["off", "background", "sync"] = Field(
        default="background",
        description="find-a-doctor keeps each client's directory in memory (background: loaded by a thread "
        "while the SQL walk answers; sync: loaded before answering; off: always the SQL walk)",
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("CARELINE_DATABASE_URL must start with sqlite:// or postgresql+psycopg://")
        return value

    @cached_property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def check_production(self) -> None:
        """Refuse to run production with the development secret."""
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("set CARELINE_SECRET_KEY to a long random value in production")
