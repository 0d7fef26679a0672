"""The signed-in person's own preferences."""
