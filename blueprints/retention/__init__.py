"""Retention: what the law and the product keep, for how long, and the archive of what leaves."""
