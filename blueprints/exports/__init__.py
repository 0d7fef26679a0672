"""Exports built by a background job and kept until they expire: CSV files, the accountant's
package. A slice registers what it exports (`services.EXPORT_KINDS`); this one runs, stores
and serves them."""
