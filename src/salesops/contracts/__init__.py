"""Contracts: lifecycle, line items, amendments, approvals, documents and renewals."""
