"""Who is calling and what they may see: passwords, sessions, API tokens, roles and scoping."""
