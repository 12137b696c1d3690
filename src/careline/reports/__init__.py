"""Contact-center reports: staffing math, simulation and forecasting."""
