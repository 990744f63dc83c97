"""The exit-code table, in a module of its own so that the command line can name the codes
without importing the run machinery (`auditor --help` starts fast)."""

EXIT_CLEAN, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_NOTIFY_FAILED, EXIT_LOCKED = 0, 1, 2, 3, 4, 75
EXIT_SOFTWARE = 70  # EX_SOFTWARE: the auditor's own bug (not 1, which cron reads as findings)
EXIT_ENVIRONMENT = 74  # EX_IOERR: disk full, database unusable or unreachable, permission denied
