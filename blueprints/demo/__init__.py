"""Demo data for the sandbox: `flask --app app demo [--reset]`."""
