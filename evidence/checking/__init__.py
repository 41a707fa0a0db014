"""Reading marketing text: sentences, quantities, topics, claim matching, verdict rules."""
