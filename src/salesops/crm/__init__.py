"""CRM records (accounts, contacts, leads, activities, contracts...) behind row-level scoping."""
