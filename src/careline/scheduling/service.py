"""The scheduling rules as plain functions, in one place for the API, pages, console and find-a-doctor.

- Configuration: appointment types, weekly templates, exceptions (`config`).
- Finding a time: `find_availability`, `next_available` (earliest across a provider list),
  `next_available_by_provider` (each provider's first open time) (`availability`).
- Booking: `book` (or hold with `hold_minutes`), `confirm_hold`, `release_hold`, `reschedule`,
  `cancel`, `set_status`, `get_appointment`, `list_appointments` (`booking`).
- Waitlist: `add_to_waitlist`, `accept_offer`, `decline_offer`, `cancel_entry`, `match_freed_time`.
- What the patient gets: `appointment_ics`, `queue_confirmation` (`notify`).

Services flush, never commit; the request (or job) commits.
"""

from careline.scheduling.availability import (
    Availability,
    Preferences,
    SlotView,
    find_availability,
    next_available,
    next_available_by_provider,
)
from careline.scheduling.booking import (
    BookingRefused,
    book,
    cancel,
    confirm_hold,
    expire_hold,
    get_appointment,
    history,
    list_appointments,
    release_hold,
    reschedule,
    set_status,
    slot_json,
)
from careline.scheduling.config import (
    create_exception,
    create_template,
    create_type,
    delete_exception,
    delete_template,
    get_exception,
    get_type,
    list_exceptions,
    list_templates,
    list_types,
    update_template,
    update_type,
)
from careline.scheduling.notify import appointment_ics, queue_confirmation
from careline.scheduling.waitlist import (
    accept_offer,
    add_to_waitlist,
    cancel_entry,
    decline_offer,
    get_entry,
    list_waitlist,
    match_freed_time,
)

__all__ = [
    "Availability",
    "BookingRefused",
    "Preferences",
    "SlotView",
    "accept_offer",
    "add_to_waitlist",
    "appointment_ics",
    "book",
    "cancel",
    "cancel_entry",
    "confirm_hold",
    "create_exception",
    "create_template",
    "create_type",
    "decline_offer",
    "delete_exception",
    "delete_template",
    "expire_hold",
    "find_availability",
    "get_appointment",
    "get_entry",
    "get_exception",
    "get_type",
    "history",
    "list_appointments",
    "list_exceptions",
    "list_templates",
    "list_types",
    "list_waitlist",
    "match_freed_time",
    "next_available",
    "next_available_by_provider",
    "queue_confirmation",
    "release_hold",
    "reschedule",
    "set_status",
    "slot_json",
    "update_template",
    "update_type",
]
