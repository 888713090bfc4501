"""The `dlgrade` command line, the demo class and the students' self-check."""
