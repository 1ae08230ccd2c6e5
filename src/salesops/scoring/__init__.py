"""Deal scoring: the win probability of open deals from the company's own closed deals."""
