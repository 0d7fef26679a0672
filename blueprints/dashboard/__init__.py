"""The home page: where the business stands and what to do next."""
