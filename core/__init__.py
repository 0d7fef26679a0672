"""App plumbing shared by the blueprints: database, cache, crypto, i18n, tenancy, web helpers."""
