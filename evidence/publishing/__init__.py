"""What leaves the core: charts, stamped exports, citations, ClaimReview, bundles, reports."""
