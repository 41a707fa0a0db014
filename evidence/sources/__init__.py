"""Outside services: PubMed, Crossref and ClinicalTrials.gov clients and citation checks."""
