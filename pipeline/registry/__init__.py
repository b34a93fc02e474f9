"""The ClinicalTrials.gov registry beside the abstracts: parse study documents into typed tables
(`parse`), load them one study per transaction (`store`), and run fetches, incremental and
resumable, from the live API or a recorded snapshot (`ingest`)."""
