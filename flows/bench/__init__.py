"""`newswatch bench ...`: benchmarks that print numbers, and what they share."""
