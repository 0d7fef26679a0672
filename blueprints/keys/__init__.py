"""The encryption keys of secrets at rest, from the command line: `flask keys …`."""
