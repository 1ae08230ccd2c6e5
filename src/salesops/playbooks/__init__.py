"""Methodology playbooks with stage exit criteria, deal hygiene, coaching and field feedback."""
