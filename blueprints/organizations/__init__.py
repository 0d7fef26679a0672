"""Organizations (taxpayers), memberships, invitations and switching between them."""
