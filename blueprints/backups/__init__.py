"""Backups that restore: `flask --app app backup create|verify|restore` (pg_dump or SQLite's
online backup API, a sidecar with what the copy must hold, a scratch restore to prove it)."""
