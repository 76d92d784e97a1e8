"""What the engine's numbers mean to a reader: one report type per command, no printing, no
files. A presenter renders a report; the command line builds one."""
