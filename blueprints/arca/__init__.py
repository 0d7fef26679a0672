"""ARCA from the command line: the sandbox's operations and a diagnostic client."""
