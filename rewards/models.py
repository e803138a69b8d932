"""Points rules and the append-only ledger arrive with the rewards feature."""
