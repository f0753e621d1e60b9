"""Running the site: health and readiness checks, Prometheus metrics, structured logs."""
