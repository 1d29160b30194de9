"""Extra `motcua` commands, one module per area, each with `register(main)`.

Modules here import from ``server.cli`` (``db_options``, ``open_database``, ``domain_errors``) — the
shared option handling lives there."""
