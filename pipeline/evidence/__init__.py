"""Evidence for patient materials: citations, the review of extracted effects, the evidence
sheet and the claim checker. Only effects a person has verified reach patient materials."""
