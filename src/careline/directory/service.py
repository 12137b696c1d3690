"""The directory's rules in one import: `from careline.directory import service`.

Split by subject (service_locations, service_plans, service_providers, service_routing); this module
re-exports what other domains (matching, scheduling, contacts) call.
"""

from __future__ import annotations

from careline.directory.service_locations import (
    NearbyLocation,
    add_closure,
    closed_dates,
    create_location,
    get_location,
    hours_text,
    list_locations,
    location_is_open,
    locations_near,
    next_open_text,
    remove_closure,
    set_closures,
    update_location,
)
from careline.directory.service_plans import create_plan, get_plan, list_plans, update_plan
from careline.directory.service_providers import (
    age_groups,
    create_provider,
    get_provider,
    provider_by_npi,
    provider_summary,
    search_providers,
    update_provider,
)
from careline.directory.service_routing import (
    create_department,
    create_resource,
    department_for_intent,
    department_hours_text,
    department_next_open_text,
    departments_for_intent,
    get_department,
    get_resource,
    is_open_now,
    list_departments,
    list_resources,
    resources_for,
    seed_default_resources,
    update_department,
    update_resource,
)

__all__ = [
    "NearbyLocation",
    "add_closure",
    "age_groups",
    "closed_dates",
    "create_department",
    "create_location",
    "create_plan",
    "create_provider",
    "create_resource",
    "department_for_intent",
    "department_hours_text",
    "department_next_open_text",
    "departments_for_intent",
    "get_department",
    "get_location",
    "get_plan",
    "get_provider",
    "get_resource",
    "hours_text",
    "is_open_now",
    "list_departments",
    "list_locations",
    "list_plans",
    "list_resources",
    "location_is_open",
    "locations_near",
    "next_open_text",
    "provider_by_npi",
    "provider_summary",
    "remove_closure",
    "resources_for",
    "search_providers",
    "seed_default_resources",
    "set_closures",
    "update_department",
    "update_location",
    "update_plan",
    "update_provider",
    "update_resource",
]
