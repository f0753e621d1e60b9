"""The JSON API under /api/v1/ for HR, scheduling and reporting systems, and the tokens it is reached with."""
