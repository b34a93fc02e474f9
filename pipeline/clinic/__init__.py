"""Clinic outcomes: a validated, pseudonymised import of session scores, and their metrics.

`load.import_export` brings an export into the warehouse, `metrics` reads the clinic marts,
and `demo` makes SYNTHETIC data for a fresh machine (`ensure_clinic_data`).
"""
