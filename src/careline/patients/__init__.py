"""Patient registry: demographics, phones, caller lookup (phone, fuzzy name and date of birth), duplicates."""
