"""A little directory for patient tests: a plan and a primary-care provider in each tenant."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from careline.db import transaction
from careline.directory.models import InsurancePlan, Provider, ProviderSpecialty


@dataclass(frozen=True)
class Directory:
    plan_a: int
    plan_b: int
    provider_a: int
    provider_b: int


def _provider(tenant_id: int, npi: str, first: str, last: str) -> Provider:
    provider = Provider(tenant_id=tenant_id, npi=npi, first_name=first, last_name=last, credentials="MD")
    provider.specialties = [
        ProviderSpecialty(tenant_id=tenant_id, taxonomy_code="207Q00000X", is_primary=True)
    ]
    return provider


@pytest.fixture
def directory(world, sessions) -> Directory:
    a, b = world.tenant_a.id, world.tenant_b.id
    with transaction(sessions) as s:
        rows = [
            InsurancePlan(tenant_id=a, name="Blue Cross PPO", payer="BCBS", plan_type="PPO"),
            InsurancePlan(tenant_id=b, name="Aetna HMO", payer="Aetna", plan_type="HMO"),
            _provider(a, "1234567893", "Grace", "Kim"),
            _provider(b, "1245319599", "Omar", "Haddad"),
        ]
        s.add_all(rows)
        s.flush()
        return Directory(*(row.id for row in rows))
