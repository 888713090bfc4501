"""The trust boundary's inbound side: everything untrusted the trusted process reads (a
submission's files, an LMS export's zip (lms.py), what a run left: record, artifacts, Keras
files, outputs), read as data, bounded and without following links.
"""
