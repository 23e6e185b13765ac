"""Extract: a fetched page becomes an Article (charset, boilerplate cut, body, times)."""
