"""The ClinicalTrials.gov registry beside the abstracts: parse study documents into typed tables
(`parse`), load them one study per transaction (`store`), and run fetches, incremental and
resumable, from the live API or a recorded snapshot (`ingest`)."""

# The registry search for depression trials of ketamine or esketamine (query.cond, query.intr).
SEARCH_CONDITION = "depression"
SEARCH_INTERVENTION = "ketamine OR esketamine"
