"""Ketamine evidence pipeline: PubMed records and clinic outcomes in one DuckDB warehouse."""

__version__ = "0.1.0"
