"""Imports every domain's tables so the metadata (and Alembic) sees them all."""

from careline.accounts import models as accounts_models  # noqa: F401
from careline.audit import models as audit_models  # noqa: F401
from careline.channels import models as channels_models  # noqa: F401
from careline.contacts import models as contacts_models  # noqa: F401
from careline.db import Base
from careline.directory import models as directory_models  # noqa: F401
from careline.escalations import models as escalations_models  # noqa: F401
from careline.jobs import models as jobs_models  # noqa: F401
from careline.patients import models as patients_models  # noqa: F401
from careline.queues import models as queues_models  # noqa: F401
from careline.reports import models as reports_models  # noqa: F401
from careline.scheduling import models as scheduling_models  # noqa: F401
from careline.surveys import models as surveys_models  # noqa: F401
from careline.tenants import models as tenants_models  # noqa: F401

metadata = Base.metadata
