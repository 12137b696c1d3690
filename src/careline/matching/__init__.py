"""Find a doctor: match a patient to providers near home or work, ranked with reasons."""
