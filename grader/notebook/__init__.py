"""Notebooks in nbgrader's format: cell metadata and checksums, the released student
version, validation of a submission against it, and recovery of lost cell identities.
"""
