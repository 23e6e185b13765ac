"""Store: Postgres, articles unique by URL and text, stories, run bookkeeping."""
