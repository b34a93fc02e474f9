"""Where records come from: live PubMed through Entrez (`entrez`) or a recorded snapshot
(`snapshot`). Both hand the same raw bytes to the same parser and loader."""
