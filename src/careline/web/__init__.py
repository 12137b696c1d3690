"""The web layer: request context, templating, error rendering; thin routes live in each domain."""
