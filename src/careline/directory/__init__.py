"""Provider directory: locations, providers, insurance plans, departments and outside resources."""
