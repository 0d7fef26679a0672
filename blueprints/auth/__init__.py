"""Sign-up, login and logout."""
