"""Files in and out: network YAML, CSV data, logs, plots, atomic writes. Imported at start-up
(``backprop --help``): keep this file empty of imports."""
